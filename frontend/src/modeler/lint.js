// Lint while editing: bpmnlint's recommended rules plus Complaintflow's own, resolved from the bundle (no
// network, no bpmnlint CLI pack step). The same rules run in tools/bpmn/lint.mjs for the tests.
import recommended from 'bpmnlint/config/recommended';
import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import fakeJoin from 'bpmnlint/rules/fake-join';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';

import subprocessLanes from './rules/subprocess-lanes';
import userTaskPerformer from './rules/user-task-performer';

const BPMNLINT_RULES = {
  'ad-hoc-sub-process': adHocSubProcess, 'conditional-flows': conditionalFlows,
  'end-event-required': endEventRequired, 'event-based-gateway': eventBasedGateway,
  'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent, 'fake-join': fakeJoin, global,
  'label-required': labelRequired, 'link-event': linkEvent, 'no-bpmndi': noBpmndi,
  'no-complex-gateway': noComplexGateway, 'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows, 'no-gateway-join-fork': noGatewayJoinFork,
  'no-implicit-split': noImplicitSplit, 'no-implicit-end': noImplicitEnd, 'no-implicit-start': noImplicitStart,
  'no-inclusive-gateway': noInclusiveGateway, 'no-overlapping-elements': noOverlappingElements,
  'single-blank-start-event': singleBlankStartEvent, 'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired, 'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway, 'superfluous-label': superfluousLabel,
  'superfluous-termination': superfluousTermination,
};
const PLUGIN_RULES = { 'bpmnlint-plugin-complaintflow': { 'subprocess-lanes': subprocessLanes,
  'user-task-performer': userTaskPerformer } };

// texts: the page's translated messages (performerMissing, performerDiffers, performerNoLane, subprocessLanes).
// bpmnlint's own messages go through bpmn-js's translate (bpmn-js-bpmnlint), i.e. the page's dictionary.
export const lintConfig = (texts) => ({
  config: { extends: 'bpmnlint:recommended', rules: { 'complaintflow/subprocess-lanes': ['error', { texts }],
    'complaintflow/user-task-performer': ['error', { texts }] } },
  resolver: {
    resolveRule(pkg, ruleName) {
      const rule = pkg === 'bpmnlint' ? BPMNLINT_RULES[ruleName] : PLUGIN_RULES[pkg]?.[ruleName];
      if (!rule) throw new Error(`unknown lint rule ${pkg}/${ruleName}`);
      return rule;
    },
    resolveConfig(pkg, configName) {
      if (pkg === 'bpmnlint' && configName === 'recommended') return recommended;
      throw new Error(`unknown lint config ${pkg}/${configName}`);
    },
  },
});
