// bpmn-js's translate service, fed with the page's dictionary (templates/pages/_modeler_dictionary.html, from
// the gettext catalog): the palette, context pad, popup menu, properties panel and lint messages follow the
// page's language. A text missing from the dictionary stays English, as bpmn-js ships it.
export default function translateModule(dictionary) {
  const translate = (template, replacements = {}) => (dictionary[template] || template)
    .replace(/{([^}]+)}/g, (placeholder, key) => (key in replacements ? replacements[key] : placeholder));
  return { translate: ['value', translate] };
}
