// Task and registration forms (templates/pages/_form.html): fields the schema requires only under an "if" (the
// comment of a rejection...) are shown when their condition holds; hidden ones are disabled so they are not
// sent. The server validates either way. A file, not an inline script: the pages' Content-Security-Policy
// allows scripts from this origin only.
(function () {
  document.querySelectorAll('form.schema-form').forEach(function (form) {
    var dependents = form.querySelectorAll('[data-show-when-field]');
    function value(name) {
      var checked = form.querySelector('[name="' + name + '"]:checked');
      if (checked) { return checked.value; }
      var input = form.querySelector('select[name="' + name + '"], input[name="' + name + '"]:not([type=radio]):not([type=checkbox])');
      return input ? input.value : '';
    }
    function update() {
      dependents.forEach(function (field) {
        var show = JSON.parse(field.dataset.showWhenValues).map(String).indexOf(value(field.dataset.showWhenField)) >= 0;
        field.hidden = !show;
        field.querySelectorAll('input, select, textarea').forEach(function (input) { input.disabled = !show; });
      });
    }
    form.addEventListener('change', update);
    update();
  });
})();
