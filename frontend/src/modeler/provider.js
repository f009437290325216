// The properties panel's SpiffWorkflow group: what SpiffWorkflow needs to run a diagram, edited on the
// spiffworkflow moddle types (spiffworkflow.json), so the XML carries real extension elements. Every change
// goes through `modeling` (undo/redo). Choices (forms, operators, SLA names, lanes -> roles) come from the
// server (/modeler/choices.json), read from the same data the validator checks against. A user task's performer
// (the lane whose roles do it) is a spiffworkflow property, shown beside the lane it is drawn in (lanes.js keeps
// that from the drawing) with the same complaint as the lint rule when they differ.
import { h } from '@bpmn-io/properties-panel/preact';
import { SelectEntry, TextAreaEntry, TextFieldEntry } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { takeOutOfLanes } from './lanes';
import { PERFORMER, performerOf, performerProblem } from './rules/user-task-performer';

const FORM_PROPERTY = 'formJsonSchemaFilename';
// An element's Chinese name (app/engine/workflow/names.py): pages show it to Chinese readers, who otherwise read
// the catalog's translation of the English name, or the English name as written.
const CHINESE_NAME = 'name.zh';
const SLA_CALL = /^\s*sla_due_at\(\s*"([A-Za-z0-9_]+)"\s*(?:,\s*([^)]*?))?\s*\)\s*$/;
const TIMER_KINDS = ['timeDate', 'timeDuration', 'timeCycle'];

// --- model helpers (undoable) ---------------------------------------------------------------------------------

function extension(bo, type) {
  return (bo.extensionElements?.values || []).find((value) => is(value, type));
}

function ensureExtension(element, bo, type, attrs, bpmnFactory, modeling) {
  let extensionElements = bo.extensionElements;
  if (!extensionElements) {
    extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    modeling.updateModdleProperties(element, bo, { extensionElements });
  }
  let value = extension(bo, type);
  if (!value) {
    value = bpmnFactory.create(type, attrs || {});
    value.$parent = extensionElements;
    modeling.updateModdleProperties(element, extensionElements, { values: [...extensionElements.values, value] });
  }
  return value;
}

function removeExtension(element, bo, type, modeling) {
  const values = bo.extensionElements?.values || [];
  const kept = values.filter((value) => !is(value, type));
  if (kept.length !== values.length) modeling.updateModdleProperties(element, bo.extensionElements, { values: kept });
}

function property(bo, name) {
  return (extension(bo, 'spiffworkflow:Properties')?.properties || []).find((p) => p.name === name);
}

function setProperty(element, bo, name, value, { bpmnFactory, modeling }) {
  const existing = property(bo, name);
  if (existing) {
    modeling.updateModdleProperties(element, existing, { value });
    return;
  }
  const container = ensureExtension(element, bo, 'spiffworkflow:Properties', {}, bpmnFactory, modeling);
  const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
  created.$parent = container;
  modeling.updateModdleProperties(element, container, { properties: [...(container.properties || []), created] });
}

function removeProperty(element, bo, name, modeling) {
  const container = extension(bo, 'spiffworkflow:Properties');
  const kept = (container?.properties || []).filter((p) => p.name !== name);
  if (container && kept.length !== container.properties.length) {
    modeling.updateModdleProperties(element, container, { properties: kept });
  }
}

function scriptValue(bo, type) {
  return extension(bo, type)?.value || '';
}

function setScript(element, bo, type, value, { bpmnFactory, modeling }) {
  if (!value) {
    removeExtension(element, bo, type, modeling);
    return;
  }
  const script = ensureExtension(element, bo, type, {}, bpmnFactory, modeling);
  modeling.updateModdleProperties(element, script, { value });
}

function timerDefinition(bo) {
  return (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:TimerEventDefinition'));
}

function timerKind(timer) {
  return TIMER_KINDS.find((kind) => timer[kind]) || 'timeDate';
}

function isLeafLane(lane) {
  return !lane.childLaneSet?.lanes?.length;
}

function processOf(bo) {
  let node = bo;
  while (node && !is(node, 'bpmn:Process')) node = node.$parent;
  return node;
}

function processHasLanes(bo) {
  return Boolean(processOf(bo)?.laneSets?.some((set) => set.lanes?.length));
}

// The lane a task is drawn in as SpiffWorkflow reads it (and the lint rule, and the server): that of the
// outermost subprocess around it that is in a lane, else its own innermost lane; null when none.
function drawnLane(bo) {
  let lane = null;
  for (let node = bo; node; node = is(node.$parent, 'bpmn:SubProcess') ? node.$parent : null) {
    lane = (node.get('lanes') || []).find(isLeafLane) || lane;
  }
  return lane;
}

// --- entries ---------------------------------------------------------------------------------------------------

function useTools() {
  return { bpmnFactory: useService('bpmnFactory'), modeling: useService('modeling'),
    debounce: useService('debounceInput'), settings: useService('config.complaintflow') };
}

function PerformerEntry({ element, id }) {
  const tools = useTools();
  const { lanes } = tools.settings.choices;
  const { texts } = tools.settings;
  const bo = getBusinessObject(element);
  return h(SelectEntry, {
    element, id, label: texts.performer,
    getValue: () => performerOf(bo),
    setValue: (value) => (value ? setProperty(element, bo, PERFORMER, value, tools)
      : removeProperty(element, bo, PERFORMER, tools.modeling)),
    getOptions: () => {
      const current = performerOf(bo);
      const options = [{ value: '', label: texts.noPerformer },
        ...lanes.map((lane) => ({ value: lane.name, label: `${lane.name} (${lane.roles.join(', ')})` }))];
      if (current && !lanes.some((lane) => lane.name === current)) {
        options.push({ value: current, label: texts.unknownLane.replace('{lane}', current) });
      }
      return options;
    },
    validate: (value) => performerProblem(value, drawnLane(bo)?.name || null, texts),
  });
}

function LaneEntry({ element, id }) {
  const { settings } = useTools();
  const commandStack = useService('commandStack');
  const bo = getBusinessObject(element);
  const names = bo.get('lanes').filter(isLeafLane).map((lane) => lane.name || lane.id);
  return h('div', { class: 'bio-properties-panel-entry cf-lane', 'data-entry-id': id },
    h('div', { class: 'bio-properties-panel-label' }, settings.texts.lanes),
    h('p', { 'data-testid': 'element-lane' }, names.join(', ') || settings.texts.noLane),
    names.length ? h('button', { type: 'button', class: 'cf-take-out', 'data-testid': 'take-out-of-lane',
      onClick: () => takeOutOfLanes(commandStack, element) }, settings.texts.takeOutOfLane) : null);
}

function FormEntry({ element, id }) {
  const tools = useTools();
  const { forms } = tools.settings.choices;
  const { texts } = tools.settings;
  const bo = getBusinessObject(element);
  return h(SelectEntry, {
    element, id, label: texts.form,
    getValue: () => property(bo, FORM_PROPERTY)?.value || '',
    setValue: (value) => setProperty(element, bo, FORM_PROPERTY, value, tools),
    getOptions: () => [{ value: '', label: texts.noForm }, ...forms.map((f) => ({ value: f, label: f }))],
  });
}

function OperatorEntry({ element, id }) {
  const tools = useTools();
  const { operators } = tools.settings.choices;
  const { texts } = tools.settings;
  const bo = getBusinessObject(element);
  return h(SelectEntry, {
    element, id, label: texts.operator,
    getValue: () => extension(bo, 'spiffworkflow:ServiceTaskOperator')?.id || '',
    setValue: (value) => {
      if (!value) {
        removeExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', tools.modeling);
        return;
      }
      const operator = ensureExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', {}, tools.bpmnFactory,
        tools.modeling);
      const declared = operators.find((o) => o.id === value)?.parameters || [];
      const old = operator.parameterList?.parameters || [];
      // Keep the values of parameters the new operator also takes; add the ones it needs.
      const parameters = declared.map((p) => tools.bpmnFactory.create('spiffworkflow:Parameter', {
        id: p.id, type: p.type, value: old.find((o) => o.id === p.id)?.value || '' }));
      const parameterList = tools.bpmnFactory.create('spiffworkflow:Parameters', { parameters });
      parameterList.$parent = operator;
      parameters.forEach((p) => { p.$parent = parameterList; });
      tools.modeling.updateModdleProperties(element, operator, { id: value, parameterList });
    },
    getOptions: () => [{ value: '', label: texts.noOperator },
      ...operators.map((o) => ({ value: o.id, label: o.parameters.length
        ? `${o.id}(${o.parameters.map((p) => p.id).join(', ')})` : o.id }))],
  });
}

function ResultVariableEntry({ element, id }) {
  const tools = useTools();
  const bo = getBusinessObject(element);
  const operator = extension(bo, 'spiffworkflow:ServiceTaskOperator');
  return h(TextFieldEntry, {
    element, id, label: tools.settings.texts.resultVariable, debounce: tools.debounce,
    getValue: () => operator?.resultVariable || '',
    setValue: (value) => operator && tools.modeling.updateModdleProperties(element, operator,
      { resultVariable: value || undefined }),
  });
}

function ParameterEntry({ element, id, parameter }) {
  const tools = useTools();
  const label = tools.settings.texts.parameter.replace('{id}', parameter.id).replace('{type}', parameter.type || '');
  return h(TextFieldEntry, {
    element, id, label, debounce: tools.debounce,
    getValue: () => parameter.value || '',
    setValue: (value) => tools.modeling.updateModdleProperties(element, parameter, { value }),
  });
}

function ScriptEntry({ element, id, type }) {
  const tools = useTools();
  const bo = getBusinessObject(element);
  const label = type === 'spiffworkflow:PreScript' ? tools.settings.texts.preScript : tools.settings.texts.postScript;
  return h(TextAreaEntry, {
    element, id, label, debounce: tools.debounce, monospace: true, rows: 2,
    getValue: () => scriptValue(bo, type),
    setValue: (value) => setScript(element, bo, type, value, tools),
  });
}

function ScriptTaskEntry({ element, id }) {
  const tools = useTools();
  const bo = getBusinessObject(element);
  return h(TextAreaEntry, {
    element, id, label: tools.settings.texts.script, debounce: tools.debounce, monospace: true, rows: 4,
    getValue: () => bo.script || '',
    setValue: (value) => tools.modeling.updateProperties(element, { scriptFormat: bo.scriptFormat || 'python',
      script: value }),
  });
}

function ConditionEntry({ element, id }) {
  const tools = useTools();
  const bo = getBusinessObject(element);
  return h(TextAreaEntry, {
    element, id, label: tools.settings.texts.condition, debounce: tools.debounce, monospace: true, rows: 2,
    getValue: () => bo.conditionExpression?.body || '',
    setValue: (value) => {
      const conditionExpression = value
        ? tools.bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined;
      tools.modeling.updateProperties(element, { conditionExpression });
    },
  });
}

function setTimer(element, timer, kind, body, tools) {
  const expression = tools.bpmnFactory.create('bpmn:FormalExpression', { body });
  expression.$parent = timer;
  const props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
  props[kind] = expression;
  tools.modeling.updateModdleProperties(element, timer, props);
}

// The engine keeps the SLA behind a timer (warnings, extensions: the timers row's sla and started_at) from the
// timer's spiffworkflow properties "sla" (an expression: a quoted name) and "slaClockStart". A timer that has
// them keeps them in step with the SLA chosen here, or its deadline and its warnings would follow two SLAs.
function syncSlaProperties(element, name, start, tools) {
  const bo = getBusinessObject(element);
  const sla = property(bo, 'sla');
  if (sla && sla.value !== `"${name}"`) tools.modeling.updateModdleProperties(element, sla, { value: `"${name}"` });
  const clock = property(bo, 'slaClockStart');
  if (clock && start && clock.value !== start) tools.modeling.updateModdleProperties(element, clock, { value: start });
}

function TimerKindEntry({ element, id }) {
  const tools = useTools();
  const timer = timerDefinition(getBusinessObject(element));
  return h(SelectEntry, {
    element, id, label: tools.settings.texts.timerKind,
    getValue: () => timerKind(timer),
    setValue: (kind) => setTimer(element, timer, kind, timer[timerKind(timer)]?.body || '', tools),
    getOptions: () => TIMER_KINDS.map((kind) => ({ value: kind, label: kind })),
  });
}

// The SLA picker writes and rewrites only its own simple call, sla_due_at("name"[, start]): any other expression
// (a conditional over several SLAs, a plain duration) is someone's deliberate work, shown read-only here and
// edited in the timer expression below, never overwritten by picking an SLA.
const foreignExpression = (body) => body.trim() !== '' && !SLA_CALL.test(body);

function TimerSlaEntry({ element, id }) {
  const tools = useTools();
  const { slas, sla_profile: profile } = tools.settings.choices;
  const { texts } = tools.settings;
  const timer = timerDefinition(getBusinessObject(element));
  const current = () => timer[timerKind(timer)]?.body || '';
  const label = texts.sla.replace('{profile}', profile);
  if (foreignExpression(current())) {
    return h('div', { class: 'bio-properties-panel-entry cf-timer-sla-fixed', 'data-entry-id': id,
      'data-testid': 'timer-sla-fixed' },
    h('div', { class: 'bio-properties-panel-label' }, label),
    h('pre', {}, current()),
    h('p', { class: 'cf-note' }, texts.slaNotPicked));
  }
  return h(SelectEntry, {
    element, id, label,
    getValue: () => SLA_CALL.exec(current())?.[1] || '',
    setValue: (name) => {
      if (!name || foreignExpression(current())) return;
      const start = SLA_CALL.exec(current())?.[2] || '';
      setTimer(element, timer, 'timeDate', start ? `sla_due_at("${name}", ${start})` : `sla_due_at("${name}")`,
        tools);
      syncSlaProperties(element, name, start, tools);
    },
    getOptions: () => [{ value: '', label: texts.noSla },
      ...slas.map((s) => ({ value: s.name, label: `${s.name} (${s.duration}, ${s.counting})` }))],
  });
}

function TimerStartEntry({ element, id }) {
  const tools = useTools();
  const timer = timerDefinition(getBusinessObject(element));
  const current = () => timer[timerKind(timer)]?.body || '';
  if (foreignExpression(current())) return null; // its clock start is part of the expression shown above
  return h(TextFieldEntry, {
    element, id, label: tools.settings.texts.slaStart, debounce: tools.debounce,
    getValue: () => SLA_CALL.exec(current())?.[2] || '',
    setValue: (start) => {
      const name = SLA_CALL.exec(current())?.[1];
      if (!name) return;
      setTimer(element, timer, 'timeDate', start ? `sla_due_at("${name}", ${start})` : `sla_due_at("${name}")`, tools);
      syncSlaProperties(element, name, start, tools);
    },
  });
}

function TimerExpressionEntry({ element, id }) {
  const tools = useTools();
  const timer = timerDefinition(getBusinessObject(element));
  return h(TextAreaEntry, {
    element, id, label: tools.settings.texts.timerExpression, debounce: tools.debounce, monospace: true, rows: 2,
    getValue: () => timer[timerKind(timer)]?.body || '',
    setValue: (value) => setTimer(element, timer, timerKind(timer), value, tools),
  });
}

function LoopEntry({ element, id, field }) {
  const tools = useTools();
  const loop = getBusinessObject(element).loopCharacteristics;
  const labels = { loopDataInputRef: tools.settings.texts.collection, inputDataItem: tools.settings.texts.elementVariable,
    loopDataOutputRef: tools.settings.texts.outputCollection, outputDataItem: tools.settings.texts.outputElement };
  const refName = (value) => (value && typeof value === 'object' ? (value.name || value.id) : value) || '';
  return h(TextFieldEntry, {
    element, id, label: labels[field], debounce: tools.debounce,
    getValue: () => refName(loop[field]),
    setValue: (value) => {
      // SpiffWorkflow reads these as variable names: an item is a DataInput/Output named so, a collection a
      // reference whose id is the variable (bpmn-moddle keeps an unresolved reference as a plain object).
      let next;
      if (!value) next = undefined;
      else if (field.endsWith('Item')) {
        next = tools.bpmnFactory.create(field === 'inputDataItem' ? 'bpmn:DataInput' : 'bpmn:DataOutput',
          { id: value, name: value });
      } else next = tools.bpmnFactory.create('bpmn:Property', { id: value, name: value });
      tools.modeling.updateModdleProperties(element, loop, { [field]: next });
    },
  });
}

function ChineseNameEntry({ element, id, bo }) {
  const tools = useTools();
  return h(TextFieldEntry, {
    element, id, label: tools.settings.texts.nameZh, debounce: tools.debounce,
    getValue: () => property(bo, CHINESE_NAME)?.value || '',
    setValue: (value) => (value && value.trim() ? setProperty(element, bo, CHINESE_NAME, value.trim(), tools)
      : removeProperty(element, bo, CHINESE_NAME, tools.modeling)),
  });
}

// Under each name entry of the General group ("name"; a pool's "processName" names its process), the Chinese
// name of the same business object. Text annotations and groups have no name the engine reads.
function addChineseNames(element, groups) {
  const general = groups.find((group) => group.id === 'general');
  if (!general || is(element, 'bpmn:TextAnnotation') || is(element, 'bpmn:Group')) return;
  const bo = getBusinessObject(element);
  const targets = { name: bo, processName: bo.processRef };
  for (const [entryId, target] of Object.entries(targets)) {
    const index = general.entries.findIndex((entry) => entry.id === entryId);
    if (index < 0 || !target) continue;
    general.entries.splice(index + 1, 0, { id: `cf-${entryId}-zh`, element, bo: target,
      component: ChineseNameEntry, isEdited: () => Boolean(property(target, CHINESE_NAME)) });
  }
}

function LaneRolesEntry({ element, id }) {
  const { settings } = useTools();
  const lane = settings.choices.lanes.find((l) => l.name === getBusinessObject(element).name);
  const roles = lane?.roles || [];
  const text = roles.length
    ? roles.map((role) => `${role}: ${settings.choices.roles[role] || ''}`).join('\n')
    : settings.texts.noRoles;
  return h('div', { class: 'bio-properties-panel-entry cf-lane-roles', 'data-entry-id': id },
    h('div', { class: 'bio-properties-panel-label' }, settings.texts.laneRoles),
    h('pre', { 'data-testid': 'lane-roles' }, text));
}

// --- the provider --------------------------------------------------------------------------------------------

function entries(element, choices) {
  const bo = getBusinessObject(element);
  const list = [];
  const add = (id, component, props = {}) => list.push({ id, component, element, ...props,
    isEdited: () => false });
  if (is(element, 'bpmn:FlowNode') && processHasLanes(bo)) add('cf-lane', LaneEntry);
  if (is(element, 'bpmn:UserTask')) {
    add('cf-performer', PerformerEntry);
    add('cf-form', FormEntry);
  }
  if (is(element, 'bpmn:ServiceTask')) {
    add('cf-operator', OperatorEntry);
    const operator = extension(bo, 'spiffworkflow:ServiceTaskOperator');
    if (operator) {
      add('cf-result-variable', ResultVariableEntry);
      (operator.parameterList?.parameters || []).forEach((parameter) => add(`cf-parameter-${parameter.id}`,
        (props) => h(ParameterEntry, { ...props, parameter })));
    }
  }
  if (is(element, 'bpmn:ScriptTask')) add('cf-script', ScriptTaskEntry);
  if (is(element, 'bpmn:Activity')) {
    add('cf-pre-script', (props) => h(ScriptEntry, { ...props, type: 'spiffworkflow:PreScript' }));
    add('cf-post-script', (props) => h(ScriptEntry, { ...props, type: 'spiffworkflow:PostScript' }));
  }
  if (is(element, 'bpmn:SequenceFlow') && is(bo.sourceRef, 'bpmn:Gateway')) add('cf-condition', ConditionEntry);
  if (is(element, 'bpmn:Event') && timerDefinition(bo)) {
    add('cf-timer-sla', TimerSlaEntry);
    add('cf-timer-start', TimerStartEntry);
    add('cf-timer-kind', TimerKindEntry);
    add('cf-timer-expression', TimerExpressionEntry);
  }
  if (is(bo.loopCharacteristics, 'bpmn:MultiInstanceLoopCharacteristics')) {
    for (const field of ['loopDataInputRef', 'inputDataItem', 'loopDataOutputRef', 'outputDataItem']) {
      add(`cf-loop-${field}`, (props) => h(LoopEntry, { ...props, field }));
    }
  }
  if (is(element, 'bpmn:Lane')) add('cf-lane-roles', LaneRolesEntry);
  return choices ? list : [];
}

export default class SpiffPropertiesProvider {
  constructor(propertiesPanel, config) {
    this._settings = config;
    propertiesPanel.registerProvider(500, this);
  }

  getGroups(element) {
    return (groups) => {
      if (this._settings?.texts) addChineseNames(element, groups);
      const list = entries(element, this._settings?.choices);
      if (list.length) {
        groups.splice(1, 0, { id: 'spiffworkflow', label: this._settings.texts.spiffGroup, entries: list });
      }
      return groups;
    };
  }
}
SpiffPropertiesProvider.$inject = ['propertiesPanel', 'config.complaintflow'];
