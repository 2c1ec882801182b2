/* The account page: own and saved numbers with balance and validity, saving and removing a
 * number, the recharge history with each order's result page and receipt, logging out. */
(function () {
  'use strict';

  var I18n = window.I18n;
  var Topup = window.Topup;

  var numbersList = document.getElementById('numbers');
  var rows = document.getElementById('history-rows');
  var statusLine = document.getElementById('account-status');
  var addForm = document.getElementById('add-form');
  var addNumber = document.getElementById('add-msisdn');
  var addLabel = document.getElementById('add-label');
  var addButton = document.getElementById('add-submit');
  var account = null;

  var BADGE = {
    succeeded: ['ok', 'badge.succeeded'],
    closed: ['off', 'badge.closed'],
    refunded: ['off', 'badge.refunded'],
    failed: ['bad', 'badge.failed'],
    created: ['wait', 'badge.awaiting_payment'],
    awaiting_payment: ['wait', 'badge.awaiting_payment']
  };

  function badge(status) {
    var kind = BADGE[status] || ['wait', 'badge.pending'];
    return Topup.element('span', 'badge badge-' + kind[0], I18n.t(kind[1]));
  }

  function numberCard(number) {
    var item = Topup.element('li', 'number-card' + (number.own ? ' number-card-own' : ''));
    var top = Topup.element('div', 'number-top');
    top.appendChild(Topup.element('span', 'number-name', number.masked || Topup.maskNumber(number.msisdn)));
    var name = number.own ? I18n.t('account.own') : number.label;
    if (name) top.appendChild(Topup.element('span', 'number-label', name));
    item.appendChild(top);
    var operator = number.operator && typeof number.operator === 'object' ? number.operator.name : number.operator;
    if (operator) item.appendChild(Topup.element('span', 'number-operator', I18n.operatorName(operator)));
    var balance = Topup.element('div', 'number-balance');
    balance.appendChild(Topup.element('small', '', I18n.t('account.balance')));
    /* A number topup holds no balance for yet (never recharged here) has no validity either. */
    var known = number.balance_minor !== null && number.balance_minor !== undefined;
    if (known) {
      balance.appendChild(document.createTextNode(I18n.money(number.balance_minor, number.currency || 'CNY')));
    } else {
      balance.appendChild(Topup.element('span', 'number-balance-none', I18n.t('account.balance.none')));
    }
    item.appendChild(balance);
    if (known) {
      item.appendChild(Topup.element('span', 'number-valid', number.valid_until
        ? I18n.t('account.valid', { date: I18n.date(number.valid_until) }) : I18n.t('account.valid.none')));
    }

    var actions = Topup.element('div', 'number-actions');
    var recharge = Topup.element('a', 'button button-primary button-small', I18n.t('account.recharge'));
    recharge.href = '/?msisdn=' + encodeURIComponent(number.msisdn);
    actions.appendChild(recharge);
    if (!number.own) {
      var remove = Topup.element('button', 'button button-danger button-small', I18n.t('account.remove'));
      remove.type = 'button';
      var shown = number.masked || Topup.maskNumber(number.msisdn);
      remove.setAttribute('aria-label', I18n.t('account.remove.label', { number: shown }));
      remove.addEventListener('click', function () {
        if (!window.confirm(I18n.t('account.remove.confirm', { number: shown }))) return;
        remove.disabled = true;
        Topup.api('DELETE', '/portal/api/numbers/' + encodeURIComponent(number.msisdn)).then(function (result) {
          if (!result.ok) {
            remove.disabled = false;
            Topup.setStatus(statusLine, Topup.problemText(result.problem, result.retryAfter), 'error');
            return;
          }
          Topup.setStatus(statusLine, I18n.t('account.removed'), 'ok');
          load();
        });
      });
      actions.appendChild(remove);
    }
    item.appendChild(actions);
    return item;
  }

  function orderRow(order) {
    var tr = document.createElement('tr');
    var currency = order.currency || (order.payment && order.payment.currency) || 'CNY';
    var time = Topup.element('td', 'cell-time');
    time.appendChild(Topup.element('span', 'cell-date', I18n.date(order.created_at, { short: true })));
    time.appendChild(Topup.element('span', 'cell-clock', I18n.time(order.created_at)));
    tr.appendChild(time);
    tr.appendChild(Topup.element('td', 'cell-number', order.masked || Topup.maskNumber(order.msisdn)));
    tr.appendChild(Topup.element('td', 'amount', I18n.money(order.amount_minor, currency)));
    var statusCell = Topup.element('td', 'cell-status');
    statusCell.appendChild(badge(order.status));
    tr.appendChild(statusCell);
    var actions = Topup.element('td', 'row-actions');
    var access = encodeURIComponent(order.access || '');
    var detailsLink = Topup.element('a', '', I18n.t('account.details'));
    detailsLink.href = '/order/' + encodeURIComponent(order.id) + '?t=' + access;
    actions.appendChild(detailsLink);
    if (order.status === 'succeeded') {
      var receipt = Topup.element('a', '', I18n.t('account.receipt'));
      receipt.href = '/portal/receipts/' + encodeURIComponent(order.id) + '.pdf?t=' + access;
      receipt.setAttribute('download', '');
      actions.appendChild(receipt);
    }
    tr.appendChild(actions);
    return tr;
  }

  function render() {
    if (!account) return;
    var who = document.getElementById('account-who');
    who.textContent = account.msisdn ? Topup.maskNumber(account.msisdn) : '';
    var numbers = (account.numbers || []).slice().sort(function (a, b) {
      return (b.own ? 1 : 0) - (a.own ? 1 : 0);
    });
    numbersList.textContent = '';
    numbers.forEach(function (number) {
      numbersList.appendChild(numberCard(number));
    });
    document.getElementById('numbers-empty').hidden = numbers.length > 0;
    var orders = account.orders || [];
    rows.textContent = '';
    orders.forEach(function (order) {
      rows.appendChild(orderRow(order));
    });
    document.getElementById('history').hidden = orders.length === 0;
    document.getElementById('history-empty').hidden = orders.length > 0;
  }

  function load() {
    return Topup.api('GET', '/portal/api/account').then(function (result) {
      if (result.status === 401) {
        window.location.replace('/login?next=' + encodeURIComponent('/account'));
        return;
      }
      if (!result.ok) {
        Topup.setStatus(statusLine, Topup.problemText(result.problem, result.retryAfter), 'error');
        return;
      }
      account = result.data;
      render();
    });
  }

  addForm.addEventListener('submit', function (event) {
    event.preventDefault();
    Topup.clearErrors(addForm);
    Topup.setStatus(statusLine, '');
    var msisdn = Topup.cleanNumber(addNumber.value);
    if (!msisdn) {
      Topup.setFieldError(addNumber, I18n.t('err.required'));
      addNumber.focus();
      return;
    }
    addButton.disabled = true;
    Topup.api('POST', '/portal/api/numbers', { msisdn: msisdn, label: addLabel.value.trim() }).then(function (result) {
      addButton.disabled = false;
      if (!result.ok) {
        var labelProblem = result.problem.code === 'invalid_field' && /label/i.test(result.problem.detail || '');
        Topup.showProblem(result, labelProblem ? { invalid_field: addLabel } : {
          invalid_number: addNumber, unknown_operator: addNumber, number_not_mobile: addNumber,
          already_exists: addNumber, invalid_field: addNumber
        }, statusLine);
        return;
      }
      addNumber.value = '';
      addLabel.value = '';
      Topup.setStatus(statusLine, I18n.t('account.added'), 'ok');
      load();
    });
  });

  document.getElementById('logout').addEventListener('click', Topup.logout);
  I18n.onChange(render);
  Topup.session().then(load);
})();
