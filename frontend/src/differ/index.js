/*
 * The review desk's visual diff: the two versions side by side (bpmn-js NavigatedViewer), with added, removed
 * and changed elements marked. bpmn-js-differ compares the two models; the server's semantic diff adds what
 * the differ does not see (a task moved to another lane is only a layout change to it, but a change of role
 * to a reviewer) — both are marked.
 *
 * Markup: <div data-old-url="..." data-new-url="..." data-highlights='{"id": "added"|"removed"|"changed"}'>
 *           <div data-testid="differ-old"></div><div data-testid="differ-new"></div></div>
 * When done the container gets data-differ-state="ready" (or "error") and data-differ-counts (JSON).
 */
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff } from 'bpmn-js-differ';

async function xml(url) {
  const response = await fetch(url, { headers: { Accept: 'application/xml' }, credentials: 'same-origin' });
  if (!response.ok) {
    throw new Error(`${url} answered ${response.status}`);
  }
  return response.text();
}

async function viewer(pane, source) {
  const instance = new NavigatedViewer({ container: pane });
  await instance.importXML(source);
  instance.get('canvas').zoom('fit-viewport');
  return instance;
}

function mark(instance, ids, className) {
  const registry = instance.get('elementRegistry');
  const canvas = instance.get('canvas');
  let marked = 0;
  for (const id of ids) {
    if (registry.get(id)) {
      canvas.addMarker(id, className);
      marked += 1;
    }
  }
  return marked;
}

async function show(container) {
  const oldPane = container.querySelector('[data-testid="differ-old"]');
  const newPane = container.querySelector('[data-testid="differ-new"]');
  const semantic = JSON.parse(container.dataset.highlights || '{}');
  const after = await viewer(newPane, await xml(container.dataset.newUrl));
  const counts = { added: 0, removed: 0, changed: 0, layout: 0 };
  if (!container.dataset.oldUrl || !oldPane) {
    container.dataset.differCounts = JSON.stringify(counts);
    return;
  }
  const before = await viewer(oldPane, await xml(container.dataset.oldUrl));
  const result = diff(before.getDefinitions(), after.getDefinitions());
  const added = new Set(Object.keys(result._added));
  const removed = new Set(Object.keys(result._removed));
  const changed = new Set(Object.keys(result._changed));
  for (const [id, kind] of Object.entries(semantic)) {
    ({ added, removed, changed })[kind]?.add(id);
  }
  counts.added = mark(after, added, 'diff-added');
  counts.removed = mark(before, removed, 'diff-removed');
  counts.changed = mark(after, changed, 'diff-changed');
  mark(before, changed, 'diff-changed');
  counts.layout = Object.keys(result._layoutChanged).length;
  container.dataset.differCounts = JSON.stringify(counts);
}

for (const container of document.querySelectorAll('[data-new-url]')) {
  show(container).then(
    () => { container.dataset.differState = 'ready'; },
    (error) => { container.dataset.differState = 'error'; console.error(error); },
  );
}
