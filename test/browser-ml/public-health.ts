/**
 * The public-health view in Chromium (issue 15 §4, acceptance): Dana, the demo public-health officer,
 * signs in, opens the real Salmonella Agona series, sees the chart with the forecast's 80 % and 95 %
 * bands and at least one alert, clicks an alert and sees what fired. The providers answered her
 * signed requests (no "not reported" line). What the page shows is checked against the manager's
 * API answer for the same series, so no number is hard-coded here. Takes the README's screenshot.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OutbreakReport } from '../../src/ml/outbreak-report.js';
import { SCREENSHOT_DIR, signIn } from '../helpers/browser.js';
import type { MlBrowserContext } from './context.js';

const one = (v: number) => (v < 10 ? v.toFixed(1) : v.toFixed(0));

export async function publicHealthSeesForecast({ system, browser, user }: MlBrowserContext): Promise<void> {
  const page = await signIn(browser, system.url, user('dana'));
  try {
    await page.getByTestId('outbreak-condition').selectOption('salmonellosis');
    await page.getByTestId('outbreak-region').selectOption('UK');
    await page.getByTestId('outbreak-label').filter({ hasText: 'Salmonella Agona' }).waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('p.error').count(), 0, 'every provider answered and nothing failed');

    const api = (await (await fetch(`${system.url}/api/outbreak/forecast?condition=salmonellosis&region=UK&horizon=4`)).json()) as OutbreakReport;
    const chart = page.getByTestId('outbreak-chart');
    await chart.waitFor();
    for (const id of ['forecast-band-95', 'forecast-band-80', 'forecast-line-arima', 'forecast-line-naive', 'forecast-line-seasonalNaive']) {
      assert.equal(await chart.getByTestId(id).count(), 1, id);
    }
    // The table alternative holds the same forecast as the API.
    const arima = api.forecasts.arima!;
    const firstRow = page.getByTestId('forecast-table').locator('tbody tr').first();
    assert.match(await firstRow.innerText(), new RegExp(`${api.forecastWeeks[0]}\\s+${one(arima.mean[0]!)} \\(${one(arima.lower80[0]!)}–${one(arima.upper80[0]!)}; ${one(arima.lower95[0]!)}–${one(arima.upper95[0]!)}\\)`));

    // At least one alert on the chart (the last year is shown); click the first.
    const markers = chart.getByTestId('outbreak-alert');
    const shown = api.alerts.filter((a) => a.index >= api.counts.length - 52);
    assert.ok(shown.length >= 1, 'the API reports alerts in the weeks shown');
    assert.equal(await markers.count(), shown.length);
    await markers.first().click();
    const detail = page.getByTestId('alert-detail');
    await detail.waitFor();
    const fired = shown[0]!;
    const text = await detail.innerText();
    assert.match(text, new RegExp(fired.week));
    assert.match(text, fired.detector === 'farrington' ? /Farrington-style detector/ : /EARS C2/);
    assert.match(text, new RegExp(`${fired.observed} observed, ${one(fired.expected)} expected; alarm above ${one(fired.threshold)}`));

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.setViewportSize({ width: 1200, height: 1000 });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'public-health.png') });
  } catch (err) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'failed-public-health.png'), fullPage: true });
    throw err;
  } finally {
    await page.context().close();
  }
}
