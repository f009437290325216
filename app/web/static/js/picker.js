// Searchable pickers (templates/pages/_form.html, the classification lists: product, cause, place of business).
// Without JavaScript the field is a plain select, its choices grouped. This adds a search box above it: typing part
// of a code or of the English or Chinese name (each option's data-search holds all three) narrows the select's
// options; one match left is chosen. The select stays the form's control (name, label, validation), so the form
// posts the same thing either way. Keyboard: Down or Enter moves to the narrowed list, Escape clears the search.
// A file, not an inline script: the pages' Content-Security-Policy allows scripts from this origin only.
(function () {
  var MAX_ROWS = 8;

  function enhance(picker) {
    var select = picker.querySelector('select');
    if (!select || select.disabled) { return; }
    var placeholder = select.querySelector('option[value=""]');
    // The options as the server grouped them: [{label, options}] (label null outside any optgroup).
    var groups = [];
    Array.prototype.forEach.call(select.children, function (child) {
      if (child.tagName === 'OPTGROUP') {
        groups.push({label: child.label, options: Array.prototype.slice.call(child.children)});
      } else if (child !== placeholder) {
        groups.push({label: null, options: [child]});
      }
    });

    var search = document.createElement('input');
    search.type = 'search';
    search.id = select.id + '-search';
    search.className = 'picker-search';
    search.autocomplete = 'off';
    search.placeholder = picker.dataset.placeholder || '';
    search.setAttribute('aria-label', picker.dataset.searchLabel || '');
    search.setAttribute('aria-controls', select.id);
    search.setAttribute('data-testid', 'search-' + select.name);
    var count = document.createElement('p');
    count.id = select.id + '-count';
    count.className = 'picker-count help';
    count.setAttribute('aria-live', 'polite');
    search.setAttribute('aria-describedby', count.id);
    picker.insertBefore(count, select);
    picker.insertBefore(search, count);

    function matches(option, words) {
      var text = (option.dataset.search || option.textContent).toLowerCase();
      return words.every(function (word) { return text.indexOf(word) >= 0; });
    }

    function countText(n) {
      if (n === 0) { return picker.dataset.countNone || ''; }
      if (n === 1) { return picker.dataset.countOne || ''; }
      return (picker.dataset.countMany || '').replace('{count}', String(n));
    }

    function filter() {
      var query = search.value.trim().toLowerCase();
      var words = query ? query.split(/\s+/) : [];
      var chosen = select.value;
      var shown = [];
      while (select.lastChild) { select.removeChild(select.lastChild); }
      if (placeholder) { select.appendChild(placeholder); }
      groups.forEach(function (group) {
        var hits = group.options.filter(function (option) { return matches(option, words); });
        if (!hits.length) { return; }
        var parent = select;
        if (group.label !== null) {
          parent = document.createElement('optgroup');
          parent.label = group.label;
          select.appendChild(parent);
        }
        hits.forEach(function (option) { parent.appendChild(option); shown.push(option); });
      });
      if (shown.length === 1) {
        select.value = shown[0].value;
      } else if (shown.every(function (option) { return option.value !== chosen; })) {
        select.value = '';
      } else {
        select.value = chosen;
      }
      if (words.length) {
        select.size = Math.max(2, Math.min(MAX_ROWS, shown.length + 1));
        count.textContent = countText(shown.length);
      } else {
        select.removeAttribute('size');
        count.textContent = '';
      }
      if (select.value !== chosen) { select.dispatchEvent(new Event('change', {bubbles: true})); }
      return shown;
    }

    search.addEventListener('input', filter);
    search.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && search.value) {
        event.preventDefault();
        search.value = '';
        filter();
      } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
        event.preventDefault();  // Enter picks from the list; it never submits the form half filled
        var shown = filter();
        if (!select.value && shown.length) { select.value = shown[0].value; }
        select.focus();
      }
    });
  }

  document.querySelectorAll('[data-picker]').forEach(enhance);
})();
