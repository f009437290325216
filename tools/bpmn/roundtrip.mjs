// Read a BPMN file with bpmn-moddle and write it back as a modeler (bpmn-js / Camunda Modeler) would on save.
//
//   node tools/bpmn/roundtrip.mjs <in.bpmn> <out.bpmn>
//
// Exits 1 if the import reports any warning (unresolved reference, unknown element or attribute in the BPMN
// namespace, ...). spiffworkflow:* extension elements need no descriptor: bpmn-moddle keeps elements of
// unknown namespaces generically (attributes, children and text), and this script checks that they came back.
import { readFile, writeFile } from 'node:fs/promises';
import { BpmnModdle } from 'bpmn-moddle';

const SPIFF_NS = 'http://spiffworkflow.org/bpmn/schema/1.0/core';

function fail(message) {
  console.error(`roundtrip: ${message}`);
  process.exit(1);
}

// Count spiffworkflow elements and attributes, so that a silent loss in the round trip is caught.
function spiffFingerprint(xml) {
  const prefixes = [...xml.matchAll(/xmlns:([A-Za-z_][\w.-]*)="([^"]*)"/g)]
    .filter(([, , uri]) => uri === SPIFF_NS)
    .map(([, prefix]) => prefix);
  const counts = {};
  for (const prefix of prefixes) {
    for (const [, name] of xml.matchAll(new RegExp(`<${prefix}:([\\w-]+)`, 'g'))) {
      counts[name] = (counts[name] || 0) + 1;
    }
    for (const [, name] of xml.matchAll(new RegExp(`\\s${prefix}:([\\w-]+)=`, 'g'))) {
      counts[`@${name}`] = (counts[`@${name}`] || 0) + 1;
    }
  }
  return counts;
}

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  fail('usage: node roundtrip.mjs <in.bpmn> <out.bpmn>');
}

const xml = await readFile(input, 'utf8');
const moddle = new BpmnModdle();

let result;
try {
  result = await moddle.fromXML(xml, 'bpmn:Definitions');
} catch (err) {
  fail(`${input}: cannot be read: ${err.message}`);
}

const warnings = result.warnings || [];
if (warnings.length) {
  fail(`${input}: ${warnings.length} import warning(s):\n` + warnings.map((w) => `  - ${w.message}`).join('\n'));
}

const { xml: written } = await moddle.toXML(result.rootElement, { format: true });

const before = spiffFingerprint(xml);
const after = spiffFingerprint(written);
const lost = Object.keys({ ...before, ...after }).filter((key) => (before[key] || 0) !== (after[key] || 0));
if (lost.length) {
  fail(`${input}: spiffworkflow extensions changed in the round trip: ` +
    lost.map((key) => `${key} ${before[key] || 0} -> ${after[key] || 0}`).join(', '));
}

await writeFile(output, written);
console.log(`roundtrip: ${input} -> ${output} (no import warnings)`);
