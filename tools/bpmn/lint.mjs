// Lint BPMN files the way the modeler does, plus the checks SpiffWorkflow needs.
//
//   node tools/bpmn/lint.mjs [--max-warnings=N] <file.bpmn>...
//
// 1. bpmn-moddle import warnings (unresolved references, unknown BPMN elements) are errors.
// 2. bpmnlint with tools/bpmn/.bpmnlintrc (bpmnlint:recommended).
// 3. Complaintflow checks (rule names "complaintflow/..."):
//    - lane-membership: in a process with lanes, every flow node is in exactly one lane's flowNodeRef and is
//      drawn inside that lane. Expanded subprocesses are exempt: SpiffWorkflow gives every task inside a
//      subprocess the subprocess's own lane if it has one, so a subprocess spanning lanes must be in none.
//    - subprocess-lane: a subprocess in a lane contains nodes that are listed in other lanes.
//    - operator-id: a spiffworkflow:serviceTaskOperator id equal to a BPMN element id (SpiffWorkflow indexes
//      every id attribute of a process and would take the operator for the element).
// Exit code 1 on any error, or on more warnings than --max-warnings (default 0: the diagrams keep none).
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { BpmnModdle } from 'bpmn-moddle';

const require = createRequire(import.meta.url);
const Linter = require('bpmnlint/lib/linter');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');

const HERE = dirname(fileURLToPath(import.meta.url));

function is(element, type) {
  return element && typeof element.$instanceOf === 'function' && element.$instanceOf(type);
}

function diIndex(definitions) {
  const index = new Map();
  for (const diagram of definitions.diagrams || []) {
    for (const planeElement of diagram.plane?.planeElement || []) {
      if (planeElement.bpmnElement) {
        index.set(planeElement.bpmnElement, planeElement);
      }
    }
  }
  return index;
}

function* flowNodes(container) {
  for (const element of container.flowElements || []) {
    if (is(element, 'bpmn:FlowNode')) {
      yield element;
    }
    if (is(element, 'bpmn:SubProcess')) {
      yield* flowNodes(element);
    }
  }
}

function* lanesOf(laneSets) {
  for (const laneSet of laneSets || []) {
    for (const lane of laneSet.lanes || []) {
      if (lane.childLaneSet?.lanes?.length) {
        yield* lanesOf([lane.childLaneSet]);
      } else {
        yield lane;
      }
    }
  }
}

function inside(bounds, lane) {
  const cx = bounds.x + bounds.width / 2;
  const cy = bounds.y + bounds.height / 2;
  return cx > lane.x && cx < lane.x + lane.width && cy > lane.y && cy < lane.y + lane.height;
}

function complaintflowChecks(definitions) {
  const reports = [];
  const report = (rule, id, message) => reports.push({ rule: `complaintflow/${rule}`, id, message, category: 'error' });
  const di = diIndex(definitions);
  const elementIds = new Set();

  for (const process of (definitions.rootElements || []).filter((e) => is(e, 'bpmn:Process'))) {
    const lanes = [...lanesOf(process.laneSets)];
    const nodes = [...flowNodes(process)];
    nodes.forEach((node) => elementIds.add(node.id));
    (function collect(container) {
      for (const element of container.flowElements || []) {
        elementIds.add(element.id);
        if (is(element, 'bpmn:SubProcess')) collect(element);
      }
    })(process);

    if (lanes.length) {
      const laneOf = new Map();
      for (const lane of lanes) {
        for (const node of lane.flowNodeRef || []) {
          if (laneOf.has(node)) {
            report('lane-membership', node.id, `Element is listed in lanes '${laneOf.get(node).name}' and '${lane.name}'`);
          }
          laneOf.set(node, lane);
        }
      }
      for (const node of nodes) {
        const lane = laneOf.get(node);
        if (is(node, 'bpmn:SubProcess')) {
          if (lane) {
            const others = [...flowNodes(node)].filter((child) => laneOf.has(child) && laneOf.get(child) !== lane);
            if (others.length) {
              report('subprocess-lane', node.id, `Subprocess is in lane '${lane.name}', so SpiffWorkflow puts all its ` +
                `tasks in that lane, but ${others.map((c) => c.id).join(', ')} are listed in other lanes: ` +
                'remove the subprocess from the lane');
            }
          }
          continue;
        }
        if (!lane) {
          report('lane-membership', node.id, 'Element is in no lane: add it to the flowNodeRef list of its lane');
          continue;
        }
        const shape = di.get(node);
        const laneShape = di.get(lane);
        if (shape?.bounds && laneShape?.bounds && !inside(shape.bounds, laneShape.bounds)) {
          report('lane-membership', node.id, `Element is listed in lane '${lane.name}' but drawn outside it`);
        }
      }
    }
  }

  (function walk(element) {
    if (!element || typeof element !== 'object') return;
    if (element.$type === 'spiffworkflow:serviceTaskOperator' && elementIds.has(element.id)) {
      report('operator-id', element.id, `serviceTaskOperator id '${element.id}' is also a BPMN element id: ` +
        'rename the element (SpiffWorkflow would take the operator for it)');
    }
    for (const [key, value] of Object.entries(element)) {
      if (key === '$parent' || key === '$model' || key === '$descriptor' || key === 'bpmnElement') continue;
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object' && (key === 'extensionElements' || key === 'values' ||
        key === '$children' || key === 'flowElements' || key === 'rootElements')) walk(value);
    }
  })(definitions);

  return reports;
}

const args = process.argv.slice(2);
let maxWarnings = 0;
const files = [];
for (const arg of args) {
  const match = arg.match(/^--max-warnings=(\d+)$/);
  if (match) maxWarnings = Number(match[1]);
  else files.push(arg);
}
if (!files.length) {
  console.error('usage: node lint.mjs [--max-warnings=N] <file.bpmn>...');
  process.exit(2);
}

const config = JSON.parse(await readFile(join(HERE, '.bpmnlintrc'), 'utf8'));
const moddle = new BpmnModdle();
let errors = 0;
let warnings = 0;

for (const file of files) {
  const reports = [];
  let xml;
  try {
    xml = await readFile(resolve(file), 'utf8');
  } catch (err) {
    console.error(`${file}: cannot be read: ${err.message}`);
    errors++;
    continue;
  }
  let definitions;
  try {
    const result = await moddle.fromXML(xml, 'bpmn:Definitions');
    definitions = result.rootElement;
    for (const warning of result.warnings || []) {
      reports.push({ rule: 'import', id: warning.element?.id, message: warning.message.split('\n')[0], category: 'error' });
    }
  } catch (err) {
    reports.push({ rule: 'import', message: `Parse error: ${err.message}`, category: 'error' });
  }
  if (definitions) {
    // a fresh linter per file: some rules keep state between runs
    const linter = new Linter({ config, resolver: new NodeResolver({ require }) });
    const results = await linter.lint(definitions);
    for (const [rule, ruleReports] of Object.entries(results)) {
      for (const r of ruleReports) {
        reports.push({ rule, id: r.id, message: r.message, category: r.category === 'warn' ? 'warning' : r.category });
      }
    }
    reports.push(...complaintflowChecks(definitions));
  }
  for (const r of reports) {
    if (r.category === 'error') errors++;
    else warnings++;
    console.log(`${file}: ${r.category} ${r.id || '-'} ${r.message} (${r.rule})`);
  }
  console.log(`${file}: ${reports.length ? reports.length + ' problem(s)' : 'ok'}`);
}

console.log(`${files.length} file(s): ${errors} error(s), ${warnings} warning(s)`);
process.exit(errors || warnings > maxWarnings ? 1 : 0);
