// No page loads this file. It is an entry point of the build only so that esbuild's code splitting (build.mjs)
// puts the npm packages the pages use into chunks of their own, apart from our code: a release that changes
// only our code changes only our small entry files, and browsers keep the large vendor chunks they cached.
// Export what our code imports from each package (an `export *` would keep what tree shaking drops).
export { default as NavigatedViewer } from 'bpmn-js/lib/NavigatedViewer';
export { default as BpmnModeler } from 'bpmn-js/lib/Modeler';
export { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';
export { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from 'bpmn-js-properties-panel';
export { SelectEntry, TextAreaEntry, TextFieldEntry } from '@bpmn-io/properties-panel';
export { h } from '@bpmn-io/properties-panel/preact';
export { default as minimapModule } from 'diagram-js-minimap';
export { default as lintModule } from 'bpmn-js-bpmnlint';
export { diff } from 'bpmn-js-differ';
