/**
 * A confirmation before an action people may regret (reject, revoke, forbid), on the native <dialog>
 * element: modal, so focus stays inside it; Escape cancels (the dialog's own `cancel` event); focus goes
 * back to the control that opened it. `useConfirm` turns it into `await ask({...})` → true / false.
 * https://html.spec.whatwg.org/multipage/interactive-elements.html#the-dialog-element
 */
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import './confirm.css';

export interface ConfirmRequest {
  /** The question, e.g. "Reject St Mary's Hospital's records?" */
  title: string;
  /** What it means, in plain words: who loses what, what stays, whether it can be undone. */
  body: ReactNode;
  /** The confirming button's words, e.g. "Yes, reject". */
  confirm: string;
  cancel?: string;
}

export function ConfirmDialog({ title, body, confirm, cancel = 'Cancel', onClose }: ConfirmRequest & { onClose: (confirmed: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const id = useId();
  useEffect(() => {
    const dialog = ref.current!;
    // Whatever had focus when the dialog opened (the Reject button) gets it back when it closes.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const onCancel = (e: Event) => {
      e.preventDefault();
      closeRef.current(false);
    };
    dialog.addEventListener('cancel', onCancel);
    if (!dialog.open) dialog.showModal();
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog ref={ref} className="confirm" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`} data-testid="confirm-dialog">
      <h2 id={`${id}-title`}>{title}</h2>
      <div id={`${id}-body`} className="confirm-body">{body}</div>
      <div className="confirm-actions">
        {/* Cancel first and focused: Enter on an opened dialog never does the irreversible thing. */}
        <button className="secondary" autoFocus onClick={() => onClose(false)}>{cancel}</button>
        <button className="danger" onClick={() => onClose(true)}>{confirm}</button>
      </div>
    </dialog>
  );
}

/** `const { ask, dialog } = useConfirm()`: render `dialog`, and `if (await ask({...}))` before acting. */
export function useConfirm(): { ask: (request: ConfirmRequest) => Promise<boolean>; dialog: ReactNode } {
  const [open, setOpen] = useState<{ request: ConfirmRequest; resolve: (ok: boolean) => void }>();
  const ask = useCallback((request: ConfirmRequest) => new Promise<boolean>((resolve) => setOpen({ request, resolve })), []);
  const dialog = open && (
    <ConfirmDialog
      {...open.request}
      onClose={(ok) => {
        setOpen(undefined);
        open.resolve(ok);
      }}
    />
  );
  return { ask, dialog };
}
