/* /counter/shift: open the shift with its float, see the report, close it with the cash counted,
 * and (supervisors) reverse a recharge. */
(function () {
  'use strict';
  var Desk = window.Desk;
  var message;

  function fact(list, label, value) {
    var dt = document.createElement('dt');
    dt.textContent = Desk.t(label);
    var dd = document.createElement('dd');
    dd.textContent = value;
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function rows(body, totals) {
    body.textContent = '';
    totals.forEach(function (line) {
      var tr = document.createElement('tr');
      [line.key, String(line.order_count), Desk.yuan(line.amount_minor),
        line.reversed_count + ' / ' + Desk.yuan(line.reversed_minor)].forEach(function (text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function showReport(report) {
    document.getElementById('report').hidden = false;
    document.getElementById('report-id').textContent = '#' + report.id;
    var facts = document.getElementById('report-facts');
    facts.textContent = '';
    if (report.status === 'open') {
      fact(facts, 'shift.drawer', Desk.yuan(report.drawer_cash_minor));
    } else {
      fact(facts, 'shift.expected', Desk.yuan(report.expected_cash_minor));
      fact(facts, 'shift.counted.done', Desk.yuan(report.counted_cash_minor));
      fact(facts, 'shift.overshort', Desk.yuan(report.over_short_minor));
    }
    rows(document.getElementById('tenders'), report.tenders);
    rows(document.getElementById('operators'), report.operators);
  }

  function loadReport(id) {
    Desk.api('GET', '/counter/api/shifts/' + encodeURIComponent(id)).then(function (r) {
      if (r.ok) showReport(r.data);
      else Desk.say(message, r.problem);
    });
  }

  function openShift(event) {
    event.preventDefault();
    var float = Desk.toMinor(document.getElementById('float').value);
    Desk.api('POST', '/counter/api/shift/open', { float_minor: float === null ? -1 : float }).then(function (r) {
      if (!r.ok) {
        Desk.say(message, r.problem);
        return;
      }
      window.location.reload();
    });
  }

  function closeShift(event) {
    event.preventDefault();
    var counted = Desk.toMinor(document.getElementById('counted').value);
    Desk.api('POST', '/counter/api/shift/close', {
      counted_minor: counted === null ? -1 : counted, reason: document.getElementById('reason').value.trim()
    }).then(function (r) {
      if (!r.ok) {
        Desk.say(message, r.problem);
        return;
      }
      document.getElementById('close-form').hidden = true;
      Desk.say(message, null, '');
      showReport(r.data);
    });
  }

  function reverse(event) {
    event.preventDefault();
    var line = document.getElementById('reverse-message');
    Desk.api('POST', '/counter/api/reversals', {
      order_id: document.getElementById('reverse-order').value.trim(),
      reason: document.getElementById('reverse-reason').value.trim()
    }).then(function (r) {
      Desk.say(line, r.ok ? null : r.problem, Desk.t('reverse.done'));
    });
  }

  Desk.page(function (state) {
    message = document.getElementById('shift-message');
    var shift = state.staff.shift;
    if (state.staff.role === 'supervisor') {
      var form = document.getElementById('reverse-form');
      form.hidden = false;
      form.addEventListener('submit', reverse);
    }
    document.getElementById('print-report').addEventListener('click', function () { window.print(); });
    if (state.staff.role === 'admin') return;
    if (!shift) {
      var open = document.getElementById('open-form');
      open.hidden = false;
      open.addEventListener('submit', openShift);
      return;
    }
    var close = document.getElementById('close-form');
    close.hidden = false;
    close.addEventListener('submit', closeShift);
    loadReport(shift.id);
  }, true);
})();
