import { ApiError } from '../api';
import type { View, ViewContext } from '../context';
import { h, replace, throttle } from '../dom';
import {
  type ConfigurationFieldsFragment,
  ConfigurationByIdDocument,
  ConfigurationsDocument,
  UpdateConfigurationDocument,
  type UpdateConfigurationInput,
} from '../generated/graphql';

type Editable = 'name' | 'modelId' | 'temperature' | 'maxTokens' | 'maxWorkload' | 'systemPrompt';
const FIELDS: Array<{ key: Editable; label: string; type: 'text' | 'number' | 'textarea'; step?: string; min?: string; max?: string }> = [
  { key: 'name', label: 'Name', type: 'text' },
  { key: 'modelId', label: 'Model', type: 'text' },
  { key: 'temperature', label: 'Temperature (0–2)', type: 'number', step: '0.01', min: '0', max: '2' },
  { key: 'maxTokens', label: 'Max tokens', type: 'number', step: '1', min: '1' },
  { key: 'maxWorkload', label: 'Max workload', type: 'number', step: '1', min: '1' },
  { key: 'systemPrompt', label: 'System prompt', type: 'textarea' },
];

/**
 * Admin only: the tenant's configurations, each editable with optimistic concurrency
 * (the version read is sent as expectedVersion; a CONFLICT shows the current values and
 * overwrites nothing), enable/disable.
 */
export function configurationsView(context: ViewContext): View {
  const list = h('div', { class: 'configurations' });
  const element = h('section', { class: 'view', 'aria-labelledby': 'configurations-title' }, h('h1', { id: 'configurations-title' }, 'Configurations'), list);
  const editing = new Set<string>();
  // the last "Saved" line per configuration: a reload after the save's own
  // configuration_changed event rebuilds the card, and the line must survive it
  const notes = new Map<string, string>();

  const card = (config: ConfigurationFieldsFragment): HTMLElement => {
    const prefix = `cfg-${config.agentId}`;
    let base = config; // the values (and version) this form was read at
    const inputs = new Map<Editable, HTMLInputElement | HTMLTextAreaElement>();
    const message = h('p', { class: 'message', role: 'status' });
    message.textContent = notes.get(config.id) ?? '';
    const version = h('span', { class: 'version' }, `version ${config.version}`);
    const enabled = h('span', { class: `tag ${config.enabled ? 'on' : 'off'}` }, config.enabled ? 'enabled' : 'disabled');
    const fill = (values: ConfigurationFieldsFragment) => {
      for (const field of FIELDS) inputs.get(field.key)!.value = String(values[field.key]);
      version.textContent = `version ${values.version}`;
      enabled.textContent = values.enabled ? 'enabled' : 'disabled';
      enabled.className = `tag ${values.enabled ? 'on' : 'off'}`;
      toggle.textContent = values.enabled ? 'Disable' : 'Enable';
    };
    const controls = FIELDS.map((field) => {
      const id = `${prefix}-${field.key}`;
      const input =
        field.type === 'textarea'
          ? h('textarea', { id, name: field.key, rows: 3 })
          : h('input', { id, name: field.key, type: field.type, step: field.step, min: field.min, max: field.max, required: true });
      input.addEventListener('input', () => editing.add(config.id));
      inputs.set(field.key, input);
      return h('div', { class: 'field' }, h('label', { for: id }, field.label), input);
    });
    const save = h('button', { type: 'submit' }, 'Save');
    const toggle = h('button', { type: 'button', 'data-action': 'toggle-enabled' }, config.enabled ? 'Disable' : 'Enable');
    const reload = h('button', { type: 'button', hidden: true, 'data-action': 'reload' }, 'Reload');

    const submit = async (input: Omit<UpdateConfigurationInput, 'id' | 'expectedVersion'>) => {
      // no reload replaces this card while its save is in flight
      editing.add(config.id);
      notes.delete(config.id);
      save.disabled = toggle.disabled = true;
      message.className = 'message';
      message.textContent = 'Saving…';
      try {
        const { updateConfiguration } = await context.api.request(UpdateConfigurationDocument, {
          input: { id: base.id, expectedVersion: base.version, ...input },
        });
        base = updateConfiguration;
        fill(base);
        message.textContent = `Saved (version ${base.version}).`;
        notes.set(config.id, message.textContent);
        editing.delete(config.id);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'CONFLICT') {
          // show what is stored now; the user's edits stay in the form until they reload
          const { configuration } = await context.api.request(ConfigurationByIdDocument, { id: base.id });
          message.className = 'message conflict';
          replace(
            message,
            h('strong', {}, 'Changed by someone else — reload. '),
            configuration
              ? `Now at version ${configuration.version}: ${FIELDS.map((f) => `${f.label} = ${JSON.stringify(configuration[f.key])}`).join(', ')}; ${configuration.enabled ? 'enabled' : 'disabled'}. Nothing was saved.`
              : 'It was deleted. Nothing was saved.',
          );
          reload.hidden = false;
          reload.onclick = () => {
            if (configuration) {
              base = configuration;
              fill(base);
            }
            editing.delete(config.id);
            reload.hidden = true;
            message.textContent = '';
            message.className = 'message';
          };
        } else if (error instanceof ApiError && error.code === 'BAD_USER_INPUT') {
          message.className = 'message error';
          message.textContent = `Not saved: ${error.message}`;
        } else {
          message.textContent = '';
          editing.delete(config.id);
          context.fail(error);
        }
      } finally {
        save.disabled = toggle.disabled = false;
      }
    };

    const form = h(
      'form',
      { class: 'config', 'data-config': config.agentId, 'aria-labelledby': `${prefix}-title` },
      h('h2', { id: `${prefix}-title` }, config.agentId, ' ', enabled, ' ', version),
      ...controls,
      h('div', { class: 'actions' }, save, toggle, reload),
      message,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const read = (key: Editable) => inputs.get(key)!.value;
      void submit({
        name: read('name'),
        modelId: read('modelId'),
        temperature: Number(read('temperature')),
        maxTokens: Number(read('maxTokens')),
        maxWorkload: Number(read('maxWorkload')),
        systemPrompt: read('systemPrompt'),
      });
    });
    toggle.addEventListener('click', () => void submit({ enabled: !base.enabled }));
    fill(config);
    return form;
  };

  const load = async () => {
    try {
      const { configurations } = await context.api.request(ConfigurationsDocument);
      // forms being edited are left alone; a save then meets the CONFLICT if another admin changed it
      if (editing.size > 0) return;
      replace(list, ...(configurations.nodes.length ? configurations.nodes.map(card) : [h('p', { class: 'empty' }, 'No configuration yet: one is created when an agent first registers.')]));
    } catch (error) {
      context.fail(error);
    }
  };
  const refresh = throttle(() => void load(), 1000);
  void load();
  const off = context.onEvent((event) => {
    if (event.kind === 'configuration_changed') refresh();
  });
  return { element, destroy: off };
}
