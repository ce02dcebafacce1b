// The credential form of one gateway type, built from the server's
// description of it (GET /api/providers).
import type { AIProviderInfo, CredentialField, ProviderInfo } from '../lib/providers';
import { isRequired } from '../lib/validation';
import { Field, SecretInput } from './ui';

export interface CredentialFieldsProps {
  info: ProviderInfo;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  /** Errors keyed by "credentials.<name>". */
  errors: Record<string, string>;
  disabled?: boolean;
}

export function aiProvider(info: ProviderInfo, name: string | undefined): AIProviderInfo | undefined {
  return info.aiProviders?.find((p) => p.name === name);
}

export function CredentialFields({ info, values, onChange, errors, disabled }: CredentialFieldsProps) {
  const set = (name: string, v: string) => onChange({ ...values, [name]: v });
  const ai = info.type === 'AI' ? aiProvider(info, values.provider) : undefined;

  return (
    <div class="field-group">
      {info.credentialFields.map((f) => {
        const required = isRequired(info.type, f, values);
        const err = errors[`credentials.${f.name}`];
        let hint: string | undefined = f.description;
        let placeholder: string | undefined;
        if (info.type === 'AI' && f.name === 'baseUrl' && ai) {
          placeholder = ai.defaultBaseUrl;
          hint = ai.name === 'ollama' ? `Where your Ollama server listens, e.g. ${ai.defaultBaseUrl}.` : `Leave empty to use ${ai.defaultBaseUrl}.`;
        }
        if (info.type === 'AI' && f.name === 'model' && ai) {
          placeholder = ai.defaultModel ?? ai.exampleModels[0];
          hint = ai.exampleModels.length ? `For example ${ai.exampleModels.join(', ')}.` : undefined;
        }
        if (info.type === 'AI' && f.name === 'apiKey' && values.provider === 'ollama') hint = 'Only if your Ollama server sits behind an authenticating proxy.';
        return (
          <Field key={f.name} label={f.label} hint={hint} error={err} required={required} optional={!required}>
            {({ id, describedBy, invalid }) => renderInput(info, f, values, set, { id, describedBy, invalid, placeholder, disabled, required })}
          </Field>
        );
      })}
    </div>
  );
}

function renderInput(
  info: ProviderInfo, f: CredentialField, values: Record<string, string>, set: (n: string, v: string) => void,
  o: { id: string; describedBy?: string; invalid: boolean; placeholder?: string; disabled?: boolean; required: boolean },
) {
  const common = { id: o.id, name: f.name, 'aria-describedby': o.describedBy, 'aria-invalid': o.invalid, 'aria-required': o.required, disabled: o.disabled, 'data-field': f.name };
  const value = values[f.name] ?? '';
  if (info.type === 'AI' && f.name === 'provider') {
    const list = info.aiProviders ?? [];
    return (
      <select {...common} value={value} onChange={(e) => set(f.name, e.currentTarget.value)}>
        <option value="" disabled>Choose a provider…</option>
        {(list.length ? list.map((p) => [p.name, p.label] as const) : (f.enum ?? []).map((n) => [n, n] as const)).map(([n, l]) => (
          <option value={n}>{l}</option>
        ))}
      </select>
    );
  }
  if (f.enum?.length) {
    return (
      <select {...common} value={value} onChange={(e) => set(f.name, e.currentTarget.value)}>
        <option value="">—</option>
        {f.enum.map((n) => <option value={n}>{n}</option>)}
      </select>
    );
  }
  if (f.secret) {
    return <SecretInput {...common} value={value} onValue={(v) => set(f.name, v)} placeholder={o.placeholder} />;
  }
  const ai = info.type === 'AI' && f.name === 'model' ? aiProvider(info, values.provider) : undefined;
  const listId = ai ? `${o.id}-models` : undefined;
  return (
    <>
      <input
        {...common}
        type="text"
        inputMode={/url/i.test(f.name) ? 'url' : undefined}
        autocomplete="off"
        spellcheck={false}
        value={value}
        placeholder={o.placeholder}
        list={listId}
        onInput={(e) => set(f.name, e.currentTarget.value)}
      />
      {ai && (
        <datalist id={listId}>
          {ai.exampleModels.map((m) => <option value={m} />)}
        </datalist>
      )}
    </>
  );
}
