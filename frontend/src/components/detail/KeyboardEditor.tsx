// The inline keyboard editor of the Telegram panel's send and edit forms:
// rows of buttons, each a label and either a URL or callback data. Inputs
// have fixed ids (idBase-kb-row-button-part), so a server error on
// "params.reply_markup.inline_keyboard[0][1].callback_data" lands under
// row 1, button 2's callback data, and focus can follow an added row.
import { useEffect, useState } from 'preact/hooks';
import { buttonError, byteLength, MAX_CALLBACK_DATA, newButton, type ButtonKind, type Keyboard } from '../../lib/telegram';
import { IconPlus, IconTrash } from '../icons';
import { Button, Field } from '../ui';

export function KeyboardEditor({ idBase, kb, onChange, errors, disabled }: {
  /** Prefixes every input's id; unique on the page. */
  idBase: string;
  kb: Keyboard;
  onChange: (kb: Keyboard) => void;
  /** Keyed as checkKeyboard and formKey key them ("kb", "kb[0][1].text"…). */
  errors: Record<string, string>;
  disabled?: boolean;
}) {
  // The input to focus after the keyboard next renders (a new button's label, or "Add row").
  const [focus, setFocus] = useState<string | null>(null);
  useEffect(() => {
    if (!focus) return;
    document.getElementById(focus)?.focus();
    setFocus(null);
  }, [focus]);

  const inputId = (i: number, j: number, part: string) => `${idBase}-kb-${i}-${j}-${part}`;
  const set = (i: number, j: number, patch: Partial<{ text: string; kind: ButtonKind; value: string }>) =>
    onChange(kb.map((row, ri) => (ri !== i ? row : row.map((b, bj) => (bj !== j ? b : { ...b, ...patch })))));
  const addRow = () => {
    onChange([...kb, [newButton()]]);
    setFocus(inputId(kb.length, 0, 'text'));
  };
  const addButton = (i: number) => {
    onChange(kb.map((row, ri) => (ri === i ? [...row, newButton()] : row)));
    setFocus(inputId(i, kb[i].length, 'text'));
  };
  const removeButton = (i: number, j: number) => {
    const row = kb[i].filter((_, bj) => bj !== j);
    // A row without buttons goes with its last one: Telegram has no empty rows.
    onChange(row.length ? kb.map((r, ri) => (ri === i ? row : r)) : kb.filter((_, ri) => ri !== i));
    setFocus(row.length ? inputId(i, Math.min(j, row.length - 1), 'text') : `${idBase}-kb-add`);
  };
  const removeRow = (i: number) => {
    onChange(kb.filter((_, ri) => ri !== i));
    setFocus(`${idBase}-kb-add`);
  };

  const errId = errors.kb ? `${idBase}-kb-error` : undefined;
  const total = kb.reduce((n, row) => n + row.length, 0);
  return (
    <fieldset class="kb-editor" aria-describedby={errId} data-testid="keyboard-editor">
      <legend class="field__label">Inline keyboard <span class="field__opt">(optional)</span></legend>
      {kb.length === 0 ? (
        <p class="muted small">No buttons. Add a row to put buttons under the message.</p>
      ) : (
        <p class="muted small">{total} {total === 1 ? 'button' : 'buttons'} in {kb.length} {kb.length === 1 ? 'row' : 'rows'}.</p>
      )}
      {errors.kb && <p class="field__error" id={errId}>{errors.kb}</p>}
      {kb.map((row, i) => (
        <fieldset class="kb-row" key={i}>
          <legend class="kb-row__title">Row {i + 1}</legend>
          {row.map((b, j) => {
            const where = ` (row ${i + 1}, button ${j + 1})`;
            const valueLabel = b.kind === 'url' ? 'URL' : 'Callback data';
            const bytes = byteLength(b.value);
            return (
              <div class="kb-button" key={j} data-testid={`kb-button-${i}-${j}`}>
                <Field id={inputId(i, j, 'text')} label={<>Label<span class="sr-only">{where}</span></>} error={buttonError(errors, i, j, 'text')}>
                  {({ id, describedBy, invalid }) => (
                    <input id={id} value={b.text} placeholder="Open the docs" aria-describedby={describedBy} aria-invalid={invalid} disabled={disabled}
                      onInput={(e) => set(i, j, { text: e.currentTarget.value })} />
                  )}
                </Field>
                <Field id={inputId(i, j, 'kind')} label={<>Action<span class="sr-only">{where}</span></>}>
                  {({ id }) => (
                    <select id={id} value={b.kind} disabled={disabled} onChange={(e) => set(i, j, { kind: e.currentTarget.value as ButtonKind })}>
                      <option value="callback_data">Callback data</option>
                      <option value="url">Open a URL</option>
                    </select>
                  )}
                </Field>
                <Field
                  id={inputId(i, j, 'value')}
                  label={<>{valueLabel}<span class="sr-only">{where}</span></>}
                  error={buttonError(errors, i, j, b.kind)}
                  hint={b.kind === 'url' ? 'http://, https:// or tg://' : `${bytes}/${MAX_CALLBACK_DATA} bytes, sent to the bot when pressed.`}
                >
                  {({ id, describedBy, invalid }) => (
                    <input id={id} value={b.value} class={b.kind === 'callback_data' ? 'mono' : undefined} inputMode={b.kind === 'url' ? 'url' : undefined}
                      placeholder={b.kind === 'url' ? 'https://example.com' : 'action:1'} spellcheck={false} autocomplete="off"
                      aria-describedby={describedBy} aria-invalid={invalid} disabled={disabled}
                      onInput={(e) => set(i, j, { value: e.currentTarget.value })} />
                  )}
                </Field>
                <Button size="sm" variant="ghost" class="kb-button__remove" icon={<IconTrash size={15} />} disabled={disabled}
                  aria-label={`Remove button ${j + 1} of row ${i + 1}`} onClick={() => removeButton(i, j)}>
                  Remove
                </Button>
              </div>
            );
          })}
          <div class="kb-row__actions">
            <Button size="sm" icon={<IconPlus size={15} />} disabled={disabled} aria-label={`Add a button to row ${i + 1}`} onClick={() => addButton(i)}>Add button</Button>
            <Button size="sm" variant="ghost" disabled={disabled} aria-label={`Remove row ${i + 1}`} onClick={() => removeRow(i)}>Remove row</Button>
          </div>
        </fieldset>
      ))}
      <div>
        <Button size="sm" id={`${idBase}-kb-add`} icon={<IconPlus size={15} />} disabled={disabled} onClick={addRow}>Add row</Button>
      </div>
    </fieldset>
  );
}
