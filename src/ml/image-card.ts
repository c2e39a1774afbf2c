/**
 * Model cards of the two image classifiers (card.ts format): what each is for, the MedMNIST v2 set
 * it was trained on and its licence, test-split metrics with 95 % bootstrap intervals, the operating
 * point, calibration, the published figures it is compared with, and its limits. Browser-safe: the
 * training script (scripts/train-image-models.ts) computes a card once and stores it beside the
 * weights as card.json; image-artefacts.ts serves it.
 */
import type { Hex } from 'viem';
import type { ModelCard, PublishedFigure } from './card.js';
import { heldOutMetrics, type HeldOutMetrics } from './card-metrics.js';
import { consentSetHash } from './consent-set.js';
import type { ImageSetName } from './images.js';

const MEDMNIST = 'Yang J. et al., "MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image classification", Scientific Data 10, 41 (2023), https://doi.org/10.1038/s41597-022-01721-8';
/** The paper's ResNet-18 (28) cells are the mean of three released runs (data/images/README.md). */
const RESNET18 = `MedMNIST v2 ResNet-18 (28), test split, mean of 3 runs; ${MEDMNIST}`;

/** What differs per set: names, which label is the finding a clinician looks for, sources and published figures. */
export interface ImageModelInfo {
  set: ImageSetName;
  id: string;
  name: string;
  /** The label treated as "positive" for sensitivity/specificity: pneumonia, malignant. */
  findingLabel: 0 | 1;
  findingName: string;
  modality: string;
  licence: string;
  citation: string;
  population: string;
  published: PublishedFigure[];
  limitations: string[];
}

const SHARED_LIMITATIONS = [
  'Research demo, not a medical device: it has not been validated clinically and must not be used for diagnosis.',
  'Inputs are shrunk to 28 × 28 pixels, far below diagnostic resolution; an upload is resized the same way.',
  'The sets carry no sex, age or site per image, so no per-sex or per-site performance can be reported.',
  'Trained on public, de-identified images and on no MedLedger patient: the consent set is empty (consentSetHash of no addresses).',
  'Probabilities are not recalibrated after training: read the calibration bins (and the ECE) before taking one as a risk.',
];

export const IMAGE_MODEL_INFO: Record<ImageSetName, ImageModelInfo> = {
  pneumoniamnist: {
    set: 'pneumoniamnist',
    id: 'pneumonia-xray-cnn',
    name: 'Paediatric chest X-ray: pneumonia vs normal (small CNN)',
    findingLabel: 1,
    findingName: 'pneumonia',
    modality: 'paediatric chest X-ray',
    licence: 'CC BY 4.0 (MedMNIST v2; source data Kermany et al. 2018, CC BY 4.0)',
    citation: `${MEDMNIST}; source: Kermany D. S. et al., Cell 172(5):1122-1131 (2018), https://doi.org/10.17632/rscbjbr9sj`,
    population: 'Anterior-posterior chest X-rays of children aged 1–5 from Guangzhou Women and Children’s Medical Center (Kermany et al. 2018), de-identified, resized to 28 × 28.',
    published: [
      { metric: 'auc', value: 0.944, source: RESNET18 },
      { metric: 'accuracy', value: 0.854, source: RESNET18 },
    ],
    limitations: [
      ...SHARED_LIMITATIONS,
      'One hospital, children only: performance on adults or other scanners is unknown.',
      'The training split was rebuilt from two partial public copies (data/images/README.md); validation and test splits are the published ones.',
    ],
  },
  breastmnist: {
    set: 'breastmnist',
    id: 'breast-ultrasound-cnn',
    name: 'Breast ultrasound: malignant vs normal or benign (small CNN)',
    findingLabel: 0,
    findingName: 'malignant',
    modality: 'breast ultrasound',
    licence: 'CC BY 4.0 (MedMNIST v2)',
    citation: `${MEDMNIST}; source: Al-Dhabyani W. et al., "Dataset of breast ultrasound images", Data in Brief 28:104863 (2020)`,
    population: 'Breast ultrasound images of women aged 25–75 from Baheya Hospital, Cairo, 2018 (BUSI, Al-Dhabyani et al. 2020), de-identified, resized to 28 × 28.',
    published: [
      { metric: 'auc', value: 0.901, source: RESNET18 },
      { metric: 'accuracy', value: 0.863, source: RESNET18 },
    ],
    limitations: [
      ...SHARED_LIMITATIONS,
      'Small: 546 training, 78 validation and 156 test images (42 malignant), so the test intervals are wide.',
      'One hospital and one scanner population; the set is a single re-saved public copy, not byte-verified (data/images/README.md).',
    ],
  },
};

export interface ImageEvaluation {
  /** The model's probability of label 1 per test image. */
  probabilities: ArrayLike<number>;
  labels: ArrayLike<number>;
}

/**
 * Test-split metrics (card-metrics.ts: AUC, Brier, accuracy, sensitivity, specificity, calibration,
 * each with a 95 % bootstrap interval), with the set's finding (pneumonia; malignant) as the positive
 * class: probabilities are of the finding, and it is flagged at 0.5, as the classifier labels it.
 */
export function imageTestMetrics(info: ImageModelInfo, evaluation: ImageEvaluation): HeldOutMetrics {
  const finding = (label: number) => (label === info.findingLabel ? 1 : 0);
  const p = Array.from(evaluation.probabilities, (v) => (info.findingLabel === 1 ? v : 1 - v));
  const y = Array.from(evaluation.labels, finding);
  return heldOutMetrics(p, y, 0.5);
}

export interface ImageCardInput {
  info: ImageModelInfo;
  weightsHash: Hex;
  /** What the training script did, in words (architecture, augmentation, epochs, seeds). */
  training: string;
  trainCount: number;
  trainPositives: number;
  validationAuc: number;
  test: ImageEvaluation;
  version?: string;
}

/** The card of a trained image model, its metrics computed on the test split. */
export function imageModelCard(input: ImageCardInput): ModelCard {
  const { info } = input;
  const m = imageTestMetrics(info, input.test);
  return {
    id: info.id,
    name: info.name,
    version: input.version ?? '1',
    modelHash: input.weightsHash,
    intendedUse: `Research demo, not for diagnosis: suggests a class for a ${info.modality} image uploaded to a provider's store, shown with its probability for a clinician to confirm or reject.`,
    notFor: ['diagnosis or screening of real patients', 'images other than the modality it was trained on', 'any decision without a clinician reading the image'],
    trainingData: {
      name: `${info.set === 'breastmnist' ? 'BreastMNIST' : 'PneumoniaMNIST'} (MedMNIST v2), train split`,
      source: `data/images/${info.set} (vendored; data/images/README.md)`,
      licence: info.licence,
      citation: info.citation,
      rows: input.trainCount,
      positives: input.trainPositives,
      population: info.population,
    },
    evaluation: `Official test split (${input.test.labels.length} images), never used for choices; the configuration and the epoch kept were chosen on the validation split (validation AUC ${input.validationAuc.toFixed(3)}). ${input.training} 95 % intervals: 1,000 bootstrap resamples of the test images (percentile). Probabilities, calibration, sensitivity and specificity are of the finding (${info.findingName}), flagged at probability 0.5 as the classifier labels it.`,
    ...m,
    subgroups: [],
    published: info.published,
    limitations: info.limitations,
    consentSetHash: consentSetHash([]),
    onChain: null,
  };
}
