// complaintflow/user-task-performer: every user task names its performer, the lane whose roles do it
// (<spiffworkflow:property name="performer" value="<lane name>" />), and is drawn in that lane.
//
// The engine gives the task to the performer's roles; the lane is only its drawing, and the server refuses a
// definition where the two differ or the performer is missing. This rule shows it while editing. A task's lane
// is SpiffWorkflow's reading of the drawing, as the server's (app/engine/workflow/performers.py): the lane of
// the outermost subprocess around it that is in a lane, else the innermost lane listing the task itself.
// Whether the performer is a lane of config/roles.toml is the server's check (the panel offers only those).
// Messages come translated through the rule's config (lint.js); English by default.
export const PERFORMER = 'performer';

const ENGLISH = {
  performerMissing: 'User task has no performer: choose the lane whose roles do it.',
  performerDiffers: "Performer '{performer}' differs from lane '{lane}' the task is drawn in: change the " +
    'performer or move the task.',
  performerNoLane: "Performer '{performer}', but the task is drawn in no lane: move it into that lane.",
};

function is(element, type) {
  return element && typeof element.$instanceOf === 'function' && element.$instanceOf(type);
}

function format(text, values) {
  return Object.entries(values).reduce((out, [key, value]) => out.split(`{${key}}`).join(value), text);
}

export function performerOf(task) {
  const values = task.extensionElements?.values || [];
  const properties = values.find((value) => is(value, 'spiffworkflow:Properties'))?.properties || [];
  return properties.find((property) => property.name === PERFORMER)?.value || '';
}

/** What is wrong with the task's performer given the name of the lane it is drawn in (null: in none), or null
 * when nothing is. */
export function performerProblem(performer, laneName, texts = {}) {
  const say = { ...ENGLISH, ...texts };
  if (!performer) return say.performerMissing;
  if (performer === laneName) return null;
  if (!laneName) return format(say.performerNoLane, { performer });
  return format(say.performerDiffers, { performer, lane: laneName });
}

function* leafLanes(laneSets) {
  for (const laneSet of laneSets || []) {
    for (const lane of laneSet.lanes || []) {
      if (lane.childLaneSet?.lanes?.length) yield* leafLanes([lane.childLaneSet]);
      else yield lane;
    }
  }
}

export default function userTaskPerformer(config = {}) {
  const texts = config.texts || {};

  function check(node, reporter) {
    if (!is(node, 'bpmn:Process')) return;
    const laneOf = new Map();
    for (const lane of leafLanes(node.laneSets)) {
      for (const ref of lane.flowNodeRef || []) if (!laneOf.has(ref)) laneOf.set(ref, lane);
    }
    (function walk(container, inherited) {
      for (const element of container.flowElements || []) {
        const lane = inherited || laneOf.get(element) || null;
        if (is(element, 'bpmn:UserTask')) {
          const problem = performerProblem(performerOf(element), lane?.name || null, texts);
          if (problem) reporter.report(element.id, problem);
        }
        if (is(element, 'bpmn:SubProcess')) walk(element, lane);
      }
    })(node, null);
  }

  return { check };
}
