// The inbox's "select all": ticks or clears every task of the page for the bulk actions (the form posts without
// this script too; the boxes are then ticked one by one).
(function () {
  var all = document.getElementById('select-all');
  if (!all) { return; }
  var boxes = function () { return document.querySelectorAll('input[name="task_ids"][form="bulk-form"]'); };
  all.addEventListener('change', function () {
    boxes().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener('change', function (event) {
    if (event.target.name !== 'task_ids') { return; }
    var list = Array.prototype.slice.call(boxes());
    var ticked = list.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === list.length;
    all.indeterminate = ticked > 0 && ticked < list.length;
  });
})();
