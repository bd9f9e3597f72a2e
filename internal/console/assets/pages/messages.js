// Superuser: the global messages every signed-in user sees above each
// page. Publish and withdraw them (Quay's /api/v1/messages).
import { h, replace } from '../dom.js';
import { get, post, del, seg } from '../api.js';
import { confirm, dialog, errorBox, field, table, toast } from '../ui.js';

export const title = 'Messages';

async function createMessage(done) {
  const content = h('textarea', { rows: 4, required: true });
  const severity = h('select', null, ['info', 'warning', 'error'].map((v) => h('option', { value: v }, v)));
  const media = h('select', null, h('option', { value: 'text/plain' }, 'Plain text'), h('option', { value: 'text/markdown' }, 'Markdown'));
  const v = await dialog({ title: 'Publish a message',
    body: [field('Message', content), field('Severity', severity), field('Format', media, 'Markdown is shown with its paragraphs, lists, emphasis, code and http(s) links; HTML in it shows as text.')],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Publish', value: 'publish' }],
    onSubmit: () => post('/api/v1/messages', { message: { content: content.value, severity: severity.value, media_type: media.value } }) });
  if (v === 'publish') { toast('Published.'); done(); }
}

export async function render(ctx) {
  const results = h('div', { class: 'results' });
  const changed = async () => { await ctx.refreshSession(); load(); };
  const load = async () => {
    try {
      const data = await get('/api/v1/messages');
      replace(results, table({ caption: `Messages (${data.messages.length})`, rows: data.messages, empty: 'No message is published.',
        columns: [
          { label: 'Severity', render: (m) => h('span', { class: ['badge', m.severity === 'error' ? 'bad' : m.severity === 'warning' ? 'warn' : 'info'] }, m.severity) },
          { label: 'Message', render: (m) => h('span', { class: 'message-text' }, m.content) },
          { label: 'Format', render: (m) => m.media_type },
          { label: 'Actions', render: (m) => h('button', { type: 'button', class: 'danger', disabled: ctx.readOnly, 'aria-label': `Withdraw message ${m.uuid}`,
            onclick: async () => {
              if (!await confirm('Withdraw message', 'Withdraw this message? Users stop seeing it.', { action: 'Withdraw' })) return;
              try { await del(`/api/v1/message/${seg(m.uuid)}`); toast('Withdrawn.'); changed(); } catch (err) { toast(err.message, 'bad'); }
            } }, 'Withdraw') },
        ] }));
    } catch (err) {
      replace(results, errorBox(err));
    }
  };
  await load();
  return h('section', null,
    h('div', { class: 'page-head' }, h('h1', null, 'Messages'),
      h('button', { type: 'button', class: 'primary', disabled: ctx.readOnly, onclick: () => createMessage(changed) }, 'Publish message')),
    results);
}
