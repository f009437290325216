// Lane membership follows the drawing, inside expanded subprocesses too.
//
// bpmn-js keeps a lane's flowNodeRef list in step with the geometry (UpdateFlowNodeRefsBehavior collects the
// shapes a command moved, resized, created or deleted, then runs `lane.updateRefs`), but it looks for lanes in
// the nearest participant, process *or subprocess*: a task inside the expanded "Handle complaint" subprocess
// finds no lane there and silently leaves its own when it is moved by a pixel, and a lane resize never looks
// inside subprocesses at all. Here `lane.updateRefs` is our handler: after a move, resize or create, a flow
// node's lanes are the lanes of its participant (the process) whose bounds contain its centre, however deep it
// sits in subprocesses. A subprocess drawn across lanes stays in none (rules/subprocess-lanes.js says why).
// Elements on a collapsed subprocess's own plane have no position in the lanes: their refs are left alone.
//
// The handler also returns the shapes whose lanes changed, so the properties panel and lint see the change,
// and takes precomputed `updates` (as bpmn-js's does), which is how "take out of lane" runs, undoable.
import Modeling from 'bpmn-js/lib/features/modeling/Modeling';
import UpdateFlowNodeRefsHandler from 'bpmn-js/lib/features/modeling/cmd/UpdateFlowNodeRefsHandler';
import { collectLanes } from 'bpmn-js/lib/features/modeling/util/LaneUtil';
import { is } from 'bpmn-js/lib/util/ModelUtil';

function laneRoot(shape) {
  for (let parent = shape.parent; parent; parent = parent.parent) {
    if (is(parent, 'bpmn:Participant') || is(parent, 'bpmn:Process')) return parent;
  }
  return null; // a collapsed subprocess's plane
}

function* flowNodesUnder(shape) {
  for (const child of shape.children || []) {
    if (child.labelTarget) continue;
    if (is(child, 'bpmn:FlowNode')) yield child;
    if (is(child, 'bpmn:SubProcess')) yield* flowNodesUnder(child);
  }
}

function centreInside(shape, lane) {
  const x = shape.x + shape.width / 2;
  const y = shape.y + shape.height / 2;
  return x > lane.x && x < lane.x + lane.width && y > lane.y && y < lane.y + lane.height;
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function isLeaf(lane) {
  return !lane.children.some((child) => is(child, 'bpmn:Lane'));
}

/** The business objects of the lanes a flow node shape belongs in by its drawing (outer lanes included, as
 * bpmn-js lists them), or null when its lanes cannot be told from the drawing. */
export function drawnLanes(shape, lanesByRoot = new Map()) {
  if (!shape.parent) return []; // deleted
  const root = laneRoot(shape);
  if (!root) return null;
  if (!lanesByRoot.has(root)) lanesByRoot.set(root, collectLanes(root));
  const lanes = lanesByRoot.get(root);
  if (is(shape, 'bpmn:SubProcess') && lanes.filter((lane) => isLeaf(lane) && overlaps(shape, lane)).length > 1) {
    return [];
  }
  return lanes.filter((lane) => centreInside(shape, lane)).map((lane) => lane.businessObject);
}

export class ProcessLaneRefsHandler extends UpdateFlowNodeRefsHandler {
  constructor(elementRegistry) {
    super();
    this._elementRegistry = elementRegistry;
  }

  _computeUpdates(flowNodeShapes, laneShapes) {
    const shapes = new Set(flowNodeShapes.filter((shape) => !shape.labelTarget));
    for (const lane of laneShapes) {
      const root = lane.parent ? laneRoot(lane) : null;
      if (root) for (const node of flowNodesUnder(root)) shapes.add(node);
    }
    const lanesByRoot = new Map();
    const updates = [];
    const handled = new Set();
    for (const shape of shapes) {
      const flowNode = shape.businessObject;
      const next = drawnLanes(shape, lanesByRoot);
      if (!next) continue;
      handled.add(flowNode);
      const now = flowNode.get('lanes');
      const remove = now.filter((lane) => !next.includes(lane));
      const add = next.filter((lane) => !now.includes(lane));
      if (remove.length || add.length) updates.push({ flowNode, remove, add });
    }
    for (const lane of laneShapes) {
      if (lane.parent) continue; // a deleted lane lets go of what it still lists
      for (const flowNode of lane.businessObject.get('flowNodeRef')) {
        if (!handled.has(flowNode)) updates.push({ flowNode, remove: [lane.businessObject], add: [] });
      }
    }
    return updates;
  }

  _changed(context) {
    return context.updates.map((update) => this._elementRegistry.get(update.flowNode.id)).filter(Boolean);
  }

  execute(context) {
    super.execute(context);
    return this._changed(context);
  }

  revert(context) {
    super.revert(context);
    return this._changed(context);
  }
}
ProcessLaneRefsHandler.$inject = ['elementRegistry'];

// bpmn-js's Modeling with our `lane.updateRefs` handler: getHandlers is the extension point bpmn-js itself uses
// over diagram-js's Modeling (a command cannot be registered twice).
export class ComplaintflowModeling extends Modeling {
  getHandlers() {
    return { ...super.getHandlers(), 'lane.updateRefs': ProcessLaneRefsHandler };
  }
}
ComplaintflowModeling.$inject = Modeling.$inject;

/** Take a flow node out of every lane (undoable). */
export function takeOutOfLanes(commandStack, element) {
  const flowNode = element.businessObject;
  commandStack.execute('lane.updateRefs', { flowNodeShapes: [], laneShapes: [],
    updates: [{ flowNode, remove: [...flowNode.get('lanes')], add: [] }] });
}

export default { modeling: ['type', ComplaintflowModeling] };
