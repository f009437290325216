/*
 * The process owners' modeler: bpmn-js Modeler (bundled from npm, bpmn.io watermark kept) with the properties
 * panel, the SpiffWorkflow group (provider.js), SpiffWorkflow's moddle types, lint while editing (lint.js), lane
 * membership kept from the drawing inside subprocesses too (lanes.js), a minimap, undo/redo and keyboard
 * shortcuts. The page (templates/pages/modeler.html) gives the URLs:
 *   data-source-url     the BPMN to open (a deployed version or a draft)
 *   data-choices-url    forms, operators with parameters, SLA names, lanes -> roles (JSON)
 *   data-save-url       PUT the XML (a draft) | data-open-draft-url  POST the XML to start a draft (a version)
 *   data-validate-url   POST: {valid, errors: [{file, line, element_id, element_name, message}]}
 *   data-deploy-url     POST {reason}: the new version, or 422 with the errors
 * The container gets data-modeler-state="ready" | "error", and data-dirty while changes are unsaved.
 */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import minimapModule from 'diagram-js-minimap';
import lintModule from 'bpmn-js-bpmnlint';

import spiffModdle from './spiffworkflow.json';
import SpiffPropertiesProvider from './provider';
import { lintConfig } from './lint';
import lanesModule from './lanes';
import translateModule from './translate';

const spiffModule = { __init__: ['spiffPropertiesProvider'], spiffPropertiesProvider: ['type', SpiffPropertiesProvider] };

async function request(url, options = {}) {
  const response = await fetch(url, { credentials: 'same-origin', ...options });
  const type = response.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await response.json() : await response.text();
  return { ok: response.ok, status: response.status, body };
}

function format(text, values) {
  return Object.entries(values).reduce((out, [key, value]) => out.replace(`{${key}}`, value), text);
}

async function start(container) {
  const texts = JSON.parse(document.getElementById('modeler-texts').textContent);
  const dictionary = JSON.parse(document.getElementById('modeler-dictionary').textContent);
  const data = container.dataset;
  const status = container.querySelector('[data-testid="modeler-status"]');
  const say = (text) => { status.textContent = text; };
  const csrf = { 'X-CSRFToken': data.csrfToken };
  say(texts.loading);

  const [choices, source] = await Promise.all([request(data.choicesUrl), request(data.sourceUrl)]);
  if (!choices.ok || !source.ok) throw new Error(texts.loadFailed);

  const modeler = new BpmnModeler({
    container: container.querySelector('.modeler-canvas'),
    propertiesPanel: { parent: container.querySelector('.modeler-panel') },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, spiffModule, minimapModule,
      lintModule, lanesModule, translateModule(dictionary)],
    moddleExtensions: { spiffworkflow: spiffModdle },
    linting: { bpmnlint: lintConfig(texts), active: true },
    keyboard: { bind: true }, // diagram-js 15+: shortcuts on the focused canvas (`bindTo` is refused, logged)
    complaintflow: { choices: choices.body, texts },
  });
  window.complaintflowModeler = modeler; // the browser tests drive and inspect the diagram through it
  const { warnings } = await modeler.importXML(source.body);
  container.dataset.importWarnings = String(warnings.length);
  modeler.get('canvas').zoom('fit-viewport');
  modeler.get('minimap').open();

  // "Submit for review" sends the draft as saved: with unsaved changes it waits for a save; after a save the
  // file is a new one for compliance (the shown submission or decision was about the old bytes).
  const review = container.querySelector('[data-testid="review-submission"]');
  const reviewForm = review?.querySelector('[data-testid="submit-review-form"]');
  function reviewDirty(dirty) {
    if (!reviewForm) return;
    reviewForm.querySelector('[data-testid="submit-for-review"]').disabled = dirty;
    reviewForm.querySelector('[data-testid="submit-needs-save"]').hidden = !dirty;
  }
  function reviewSaved() {
    if (!reviewForm) return;
    reviewDirty(false);
    reviewForm.hidden = false;
    review.querySelector('[data-testid="review-state"]')?.remove();
    review.dataset.reviewState = 'none';
  }
  reviewForm?.addEventListener('submit', (event) => {
    if (container.dataset.dirty) event.preventDefault();
  });

  const commandStack = modeler.get('commandStack');
  modeler.on('commandStack.changed', () => {
    container.dataset.dirty = 'true';
    reviewDirty(true);
    say(texts.unsaved);
  });
  let lintIssues = 0;
  modeler.on('linting.completed', ({ issues }) => {
    lintIssues = Object.values(issues).reduce((n, list) => n + list.length, 0);
    container.dataset.lintIssues = String(lintIssues);
  });
  container.querySelector('[data-action="undo"]').addEventListener('click', () => commandStack.undo());
  container.querySelector('[data-action="redo"]').addEventListener('click', () => commandStack.redo());

  async function xml() {
    return (await modeler.saveXML({ format: true })).xml;
  }

  async function save() {
    say(texts.saving);
    const headers = { ...csrf, 'Content-Type': 'application/xml' };
    if (data.saveUrl) {
      const answer = await request(data.saveUrl, { method: 'PUT', headers, body: await xml() });
      if (!answer.ok) throw new Error(format(texts.failed, { status: answer.status }));
      if (container.dataset.dirty) reviewSaved();
      delete container.dataset.dirty;
      say(texts.saved);
      return true;
    }
    const answer = await request(data.openDraftUrl, { method: 'POST', headers, body: await xml() });
    if (!answer.ok) throw new Error(format(texts.failed, { status: answer.status }));
    window.location.assign(answer.body.url); // the draft's own page: validate and deploy live there
    return false;
  }

  const errorList = container.querySelector('[data-testid="validation-errors"]');
  const errorPanel = container.querySelector('[data-testid="validation-panel"]');

  function select(elementId) {
    const registry = modeler.get('elementRegistry');
    const element = registry.get(elementId);
    if (!element) return;
    modeler.get('selection').select(element);
    modeler.get('canvas').scrollToElement(element);
  }

  function showErrors(errors) {
    errorList.replaceChildren();
    errorPanel.hidden = false;
    for (const error of errors) {
      const item = document.createElement('li');
      const where = `${error.file}${error.line ? `, ${texts.line} ${error.line}` : ''}`;
      const label = error.element_id ? ` [${error.element_id}${error.element_name ? ` '${error.element_name}'` : ''}]` : '';
      const text = `${where}${label}: ${error.message}`;
      if (error.element_id) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'link-button';
        button.dataset.elementId = error.element_id;
        button.dataset.testid = 'validation-error';
        button.textContent = text;
        button.addEventListener('click', () => select(error.element_id));
        item.append(button);
      } else {
        item.dataset.testid = 'validation-error';
        item.textContent = text;
      }
      errorList.append(item);
    }
    // The server's verdict and the editor's lint badge are two checks: the status names both, so "valid" never
    // stands beside a red badge unexplained.
    const verdict = errors.length ? format(texts.invalid, { count: errors.length }) : texts.valid;
    say(lintIssues ? `${verdict} ${format(texts.lintProblems, { count: lintIssues })}` : verdict);
    container.dataset.validation = errors.length ? 'invalid' : 'valid';
  }

  async function validate() {
    if (container.dataset.dirty && !(await save())) return false;
    say(texts.validating);
    const answer = await request(data.validateUrl, { method: 'POST', headers: csrf });
    if (!answer.ok) throw new Error(format(texts.failed, { status: answer.status }));
    showErrors(answer.body.errors);
    return answer.body.valid;
  }

  async function deploy(reason) {
    if (!reason.trim()) {
      say(texts.reasonRequired);
      return;
    }
    if (!(await validate())) return;
    say(texts.deploying);
    const answer = await request(data.deployUrl, { method: 'POST', headers: { ...csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason }) });
    if (answer.status === 422 && answer.body.errors) {
      showErrors(answer.body.errors);
      return;
    }
    if (!answer.ok) throw new Error(format(texts.failed, { status: answer.status }));
    container.dataset.deployedVersion = String(answer.body.version);
    say(format(texts.deployed, { version: answer.body.version }));
    window.location.assign(answer.body.url);
  }

  const guard = (action) => async (event) => {
    event?.preventDefault();
    try { await action(event); } catch (error) { say(error.message); }
  };
  container.querySelector('[data-action="save"]').addEventListener('click', guard(save));
  container.querySelector('[data-action="validate"]')?.addEventListener('click', guard(validate));
  const deployForm = container.querySelector('[data-testid="deploy-form"]');
  deployForm?.addEventListener('submit', guard(() => deploy(deployForm.elements.reason.value)));
  window.addEventListener('beforeunload', (event) => {
    if (container.dataset.dirty) event.preventDefault();
  });
  say(texts.ready);
  container.dataset.modelerState = 'ready';
}

const container = document.getElementById('modeler');
if (container) {
  start(container).catch((error) => {
    container.dataset.modelerState = 'error';
    container.querySelector('[data-testid="modeler-status"]').textContent = error.message;
  });
}
