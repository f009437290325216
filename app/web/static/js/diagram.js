/*
 * The process diagram on the complaint page, drawn with bpmn-js's NavigatedViewer.
 *
 * Source file: it imports from npm, so the browser loads the bundle that frontend/build.mjs makes from it,
 * /static/build/diagram.js (with /static/build/diagram.css), never this file directly.
 *
 * Markup it expects (any number per page):
 *   <div data-diagram-url="..." data-highlights-url="..." aria-label="Process diagram"></div>
 * data-diagram-url    answers the BPMN XML of the instance's own definition version;
 * data-highlights-url answers JSON, per element id: {"state": "completed"|"active"|"overdue", "count": n}
 *                     (as {"elements": {...}}, the bare mapping, or a list of {"id", "state", "count"}).
 *                     With "labels": {element id: name}, the names to draw instead of those in the XML (the
 *                     reader's language: a Chinese name the version gives, or the catalog's translation).
 * Optional: data-count-title="done {count} times" (tooltip of the rework badge, in the page's language),
 *           data-error-text="..." (shown when the diagram cannot be drawn),
 *           data-zoom-in-text, data-zoom-out-text, data-fit-text, data-controls-text: the names of the zoom
 *           buttons and of their toolbar, in the page's language (English otherwise).
 * When done the container gets data-diagram-state="ready" (or "error"), which the browser tests wait for.
 */
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

const STATES = ['completed', 'active', 'overdue'];

async function fetchOk(url, accept) {
  const response = await fetch(url, { headers: { Accept: accept }, credentials: 'same-origin' });
  if (!response.ok) {
    throw new Error(`${url} answered ${response.status}`);
  }
  return response;
}

/** The highlights as a list of {id, state, count}, whichever of the accepted shapes the server sent. */
export function normalizeHighlights(body) {
  const source = body && !Array.isArray(body) && body.elements !== undefined ? body.elements : body;
  if (Array.isArray(source)) {
    return source.map((item) => ({ id: item.id ?? item.element_id, state: item.state, count: item.count ?? 0 }));
  }
  return Object.entries(source || {}).map(([id, item]) => ({ id, state: item.state, count: item.count ?? 0 }));
}

/** The XML with the elements named as ``labels`` says (element id -> name); unknown ids are left alone. */
export function relabel(xml, labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) {
    return xml;
  }
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) {
    return xml; // importXML reports what is wrong with it
  }
  const byId = new Map([...doc.getElementsByTagName('*')].filter((e) => e.hasAttribute('id'))
    .map((e) => [e.getAttribute('id'), e]));
  for (const [id, name] of entries) {
    if (byId.get(id)?.hasAttribute('name')) {
      byId.get(id).setAttribute('name', name);
    }
  }
  return new XMLSerializer().serializeToString(doc);
}

function label(container) {
  // The page gives the label in its own language; English only as the last resort.
  return container.getAttribute('aria-label') || container.dataset.diagramLabel || 'Process diagram';
}

function badge(count, container) {
  const element = document.createElement('span');
  element.className = 'cf-count-badge';
  element.textContent = `${count}\u00d7`;
  const title = container.dataset.countTitle;
  element.title = title ? title.replace('{count}', String(count)) : `${count}\u00d7`;
  return element;
}

function highlight(viewer, container, highlights) {
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  const overlays = viewer.get('overlays');
  let drawn = 0;
  for (const { id, state, count } of highlights) {
    // Ids the diagram does not draw (a multi-instance child, an element of another version) are skipped.
    if (!registry.get(id) || !STATES.includes(state)) {
      continue;
    }
    canvas.addMarker(id, `cf-${state}`);
    drawn += 1;
    if (count > 1) {
      overlays.add(id, 'cf-count', { position: { top: -10, right: 10 }, html: badge(count, container) });
    }
  }
  return drawn;
}

// diagram-js moves the canvas only with Ctrl/Cmd + arrows; plain keys are kinder to keyboard users:
// arrows move (Shift: faster), + and - zoom, 0 fits the diagram again.
const MOVES = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

function bindKeys(viewer, target) {
  const canvas = viewer.get('canvas');
  target.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    const step = event.shiftKey ? 200 : 50;
    if (MOVES[event.key]) {
      canvas.scroll({ dx: MOVES[event.key][0] * step, dy: MOVES[event.key][1] * step });
    } else if (event.key === '+' || event.key === '=') {
      canvas.zoom(canvas.zoom() * 1.25);
    } else if (event.key === '-') {
      canvas.zoom(canvas.zoom() / 1.25);
    } else if (event.key === '0') {
      canvas.zoom('fit-viewport', 'auto');
    } else {
      return;
    }
    event.preventDefault();
  });
}

// Zoom: buttons for everyone (keyboard and touch included), the keys above, Ctrl/Cmd + wheel (and a trackpad's
// pinch) anywhere over the diagram, and the plain wheel once the diagram has focus (clicked, tapped or tabbed
// into). A plain wheel over a diagram the reader is merely scrolling past moves the page, not the diagram:
// diagram-js's own wheel handling (which pans on the plain wheel and so traps the page's scrolling) is off.
const CONTROLS = [
  ['zoom-in', 'zoomInText', 'Zoom in', '+', (canvas, zoomScroll) => zoomScroll.stepZoom(1)],
  ['zoom-out', 'zoomOutText', 'Zoom out', '\u2212', (canvas, zoomScroll) => zoomScroll.stepZoom(-1)],
  ['fit', 'fitText', 'Fit the diagram to the frame', '\u2922', (canvas) => canvas.zoom('fit-viewport', 'auto')],
];

function addControls(viewer, container) {
  const canvas = viewer.get('canvas');
  const zoomScroll = viewer.get('zoomScroll');
  const bar = document.createElement('div');
  bar.className = 'cf-diagram-controls';
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', container.dataset.controlsText || 'Diagram zoom');
  for (const [action, key, fallback, glyph, run] of CONTROLS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'cf-diagram-control';
    button.dataset.diagramControl = action;
    button.textContent = glyph;
    const name = container.dataset[key] || fallback;
    button.setAttribute('aria-label', name);
    button.title = name;
    button.addEventListener('click', () => run(canvas, zoomScroll));
    bar.append(button);
  }
  container.append(bar);
}

function bindWheel(viewer, container) {
  const zoomScroll = viewer.get('zoomScroll');
  container.addEventListener('wheel', (event) => {
    const focused = container.contains(document.activeElement) && !event.target.closest('.cf-diagram-controls');
    if (!(event.ctrlKey || event.metaKey || focused)) {
      return; // the page scrolls
    }
    event.preventDefault();
    const rect = container.getBoundingClientRect();
    const factor = event.deltaMode === 0 ? 0.02 : 0.32;
    const delta = -Math.sign(event.deltaY) * Math.hypot(event.deltaX, event.deltaY) * factor;
    zoomScroll.zoom(delta, { x: event.clientX - rect.left, y: event.clientY - rect.top });
  }, { passive: false });
}

function showError(container, error) {
  container.dataset.diagramState = 'error';
  const message = document.createElement('p');
  message.className = 'cf-diagram-error';
  message.textContent = container.dataset.errorText || 'The diagram could not be drawn.';
  container.replaceChildren(message);
  console.error('Process diagram:', error);
}

export async function drawDiagram(container) {
  const name = label(container);
  container.setAttribute('role', 'group');
  container.setAttribute('aria-label', name);
  container.classList.add('cf-diagram');
  try {
    const [xml, highlights] = await Promise.all([
      fetchOk(container.dataset.diagramUrl, 'application/xml, text/xml').then((r) => r.text()),
      container.dataset.highlightsUrl
        ? fetchOk(container.dataset.highlightsUrl, 'application/json').then((r) => r.json())
        : Promise.resolve([]),
    ]);
    // The bpmn.io watermark stays: its licence requires it.
    const viewer = new NavigatedViewer({ container, zoomScroll: { enabled: false } });
    await viewer.importXML(relabel(xml, highlights && highlights.labels));
    const canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    // diagram-js makes its SVG the keyboard target: keep it in the tab order and name it for screen readers.
    const svg = container.querySelector('svg[tabindex]') || container.querySelector('svg');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', name);
    svg.setAttribute('tabindex', '0');
    bindKeys(viewer, svg);
    addControls(viewer, container);
    bindWheel(viewer, container);
    const drawn = highlight(viewer, container, normalizeHighlights(highlights));
    container.dataset.highlighted = String(drawn);
    container.dataset.diagramState = 'ready';
    container.diagramViewer = viewer;
  } catch (error) {
    showError(container, error);
  }
}

function drawAll() {
  document.querySelectorAll('[data-diagram-url]').forEach((container) => {
    if (!container.dataset.diagramState) {
      container.dataset.diagramState = 'loading';
      drawDiagram(container);
    }
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', drawAll);
} else {
  drawAll();
}
