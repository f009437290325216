// complaintflow/subprocess-lanes: an embedded subprocess drawn across lanes stays in no lane.
//
// SpiffWorkflow gives every task inside a subprocess the subprocess's own lane when it has one, so a
// subprocess spanning the Departments and Approver lanes but listed in one of them would hand all its tasks to
// that lane's roles. bpmn-js puts a shape into the lane under its centre when it is moved: this rule catches it.
// (complaint_handling.bpmn's handle_complaint spans three lanes and is deliberately in none.)
function is(element, type) {
  return element && typeof element.$instanceOf === 'function' && element.$instanceOf(type);
}

function bounds(diIndex, element) {
  return diIndex.get(element)?.bounds;
}

function overlaps(a, b) {
  return a.y < b.y + b.height && b.y < a.y + a.height && a.x < b.x + b.width && b.x < a.x + a.width;
}

function* lanes(laneSet) {
  for (const lane of laneSet?.lanes || []) {
    yield lane;
    yield* lanes(lane.childLaneSet);
  }
}

// The message comes translated through the rule's config (lint.js: texts.subprocessLanes, {count} and {lane});
// English by default (tools/bpmn/lint.mjs).
const ENGLISH = "Subprocess drawn across {count} lanes is listed in lane '{lane}': SpiffWorkflow would give all " +
  'its tasks to that lane. Keep it in no lane.';

export default function subprocessLanes(config) {
  const text = config?.texts?.subprocessLanes || ENGLISH;
  function check(node, reporter) {
    if (!is(node, 'bpmn:Definitions')) return;
    const diIndex = new Map();
    for (const diagram of node.diagrams || []) {
      for (const shape of diagram.plane?.planeElement || []) {
        if (shape.bpmnElement) diIndex.set(shape.bpmnElement, shape);
      }
    }
    for (const process of (node.rootElements || []).filter((e) => is(e, 'bpmn:Process'))) {
      const allLanes = (process.laneSets || []).flatMap((set) => [...lanes(set)]).filter((l) => !l.childLaneSet);
      for (const lane of allLanes) {
        for (const ref of lane.flowNodeRef || []) {
          if (!is(ref, 'bpmn:SubProcess')) continue;
          const box = bounds(diIndex, ref);
          if (!box) continue;
          const crossed = allLanes.filter((other) => bounds(diIndex, other) && overlaps(box, bounds(diIndex, other)));
          if (crossed.length > 1) {
            reporter.report(ref.id, text.split('{count}').join(String(crossed.length))
              .split('{lane}').join(lane.name));
          }
        }
      }
    }
  }
  return { check };
}
