/* The result page of one order (/order/{id}?t={access}): asks every 2 seconds until the order is
 * final, then shows the new balance, the validity and the receipt. */
(function () {
  'use strict';

  var I18n = window.I18n;
  var Topup = window.Topup;
  var POLL_MS = 2000;
  var POLL_FOR_MS = 20 * 60 * 1000; /* longer than any payment stays open */
  var FINAL = { succeeded: true, refunded: true, closed: true };
  var ICON = { succeeded: 'ok', failed: 'bad', closed: 'off', refunded: 'off' };

  var match = /^\/order\/([^/]+)\/?$/.exec(window.location.pathname);
  var orderId = match ? decodeURIComponent(match[1]) : '';
  var access = new URLSearchParams(window.location.search).get('t') || '';

  var icon = document.getElementById('result-icon');
  var title = document.getElementById('result-title');
  var sub = document.getElementById('result-sub');
  var details = document.getElementById('details');
  var statusLine = document.getElementById('form-status');
  var refreshNote = document.getElementById('refresh-note');

  var last = null; /* the latest answer */
  var numberInfo = null; /* masked number and operator name, looked up once */
  var loggedIn = false;
  var started = Date.now();
  var missing = false;

  function setIcon(kind) {
    icon.className = 'result-icon result-icon-' + kind;
  }

  /* kind: "emphasis" (the new balance) or "long" (a provider's trade number: on its own line). */
  function row(label, value, kind) {
    var wrapper = Topup.element('div', kind ? 'details-' + kind : '');
    wrapper.appendChild(Topup.element('dt', '', label));
    wrapper.appendChild(Topup.element('dd', '', value));
    details.appendChild(wrapper);
  }

  function methodName(payment) {
    var key = 'method.' + payment.provider;
    return I18n.has(key) ? I18n.t(key) : payment.provider;
  }

  function render() {
    var order = last;
    if (!order) return;
    var payment = order.payment || {};
    var status = order.status;
    setIcon(ICON[status] || 'wait');
    title.removeAttribute('data-i18n'); /* dynamic from now on: apply() must leave it alone */
    title.textContent = I18n.has('status.' + status) ? I18n.t('status.' + status) : status;
    sub.textContent = I18n.has('status.sub.' + status) ? I18n.t('status.sub.' + status) : '';

    details.textContent = '';
    details.hidden = false;
    var currency = order.currency || payment.currency || 'CNY';
    if (status === 'succeeded') {
      var balance = order.balance_minor !== undefined && order.balance_minor !== null ? order.balance_minor
        : order.balance_after_minor;
      if (balance !== undefined && balance !== null) {
        row(I18n.t('order.balance'), I18n.money(balance, currency), 'emphasis');
      }
      if (order.valid_until) row(I18n.t('order.valid'), I18n.date(order.valid_until));
    }
    row(I18n.t('order.number'), (numberInfo && numberInfo.masked) || Topup.maskNumber(order.msisdn));
    row(I18n.t('order.operator'),
      numberInfo && numberInfo.operator ? I18n.operatorName(numberInfo.operator.name) : order.operator || '');
    row(I18n.t('order.amount'), I18n.money(order.amount_minor, currency));
    row(I18n.t('order.price'), I18n.money(payment.amount_minor || order.price_minor, currency));
    if (payment.provider) row(I18n.t('order.method'), methodName(payment));
    if (payment.trade_no) row(I18n.t('order.trade'), payment.trade_no, payment.trade_no.length > 20 ? 'long' : '');
    row(I18n.t('order.id'), String(order.id));
    if (order.created_at) row(I18n.t('order.created'), I18n.dateTime(order.created_at));

    var canContinue = status === 'awaiting_payment' && payment.status === 'pending' &&
      /^https?:\/\//i.test(payment.pay_url || '');
    var continueLink = document.getElementById('continue');
    continueLink.hidden = !canContinue;
    if (canContinue) continueLink.href = payment.pay_url;
    var receipt = document.getElementById('receipt');
    receipt.hidden = status !== 'succeeded';
    receipt.href = '/portal/receipts/' + encodeURIComponent(order.id) + '.pdf?t=' + encodeURIComponent(access);
    document.getElementById('again').className = status === 'succeeded' || canContinue
      ? 'button button-secondary' : 'button button-primary';
    document.getElementById('history').hidden = !loggedIn;
    refreshNote.hidden = Boolean(FINAL[status]);
  }

  function forgetIfFinal() {
    if (!last || !FINAL[last.status]) return;
    try {
      var saved = JSON.parse(sessionStorage.getItem('topup.lastOrder') || 'null');
      if (saved && String(saved.id) === String(last.id)) sessionStorage.removeItem('topup.lastOrder');
    } catch (e) {
      /* storage off: nothing kept */
    }
  }

  function lookUpNumber(msisdn) {
    if (numberInfo || !msisdn) return;
    numberInfo = {};
    Topup.api('GET', '/portal/api/numbers/' + encodeURIComponent(msisdn)).then(function (result) {
      if (result.ok && result.data) {
        numberInfo = result.data;
        render();
      }
    });
  }

  function notFound() {
    missing = true;
    setIcon('bad');
    title.removeAttribute('data-i18n');
    title.textContent = I18n.t('order.notfound');
    sub.textContent = '';
    details.hidden = true;
    refreshNote.hidden = true;
  }

  function poll() {
    var path = '/portal/api/orders/' + encodeURIComponent(orderId) + '?t=' + encodeURIComponent(access);
    Topup.api('GET', path).then(function (result) {
      if (result.ok && result.data) {
        Topup.setStatus(statusLine, '');
        last = result.data;
        render();
        lookUpNumber(last.msisdn);
        forgetIfFinal();
        if (FINAL[last.status]) return;
      } else if (result.status === 404 || result.status === 401 || result.status === 403) {
        notFound();
        return;
      } else {
        Topup.setStatus(statusLine, Topup.problemText(result.problem, result.retryAfter), 'error');
      }
      if (Date.now() - started < POLL_FOR_MS) setTimeout(poll, POLL_MS);
    });
  }

  I18n.onChange(function () {
    if (missing) notFound();
    else if (last) render();
  });

  Topup.session().then(function (session) {
    loggedIn = Boolean(session.logged_in);
    render();
  });
  if (!orderId) notFound();
  else poll();
})();
