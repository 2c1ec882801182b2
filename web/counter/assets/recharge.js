/* /counter/recharge: the number looked up, the amount chosen and read back to the customer, the
 * tender and the ID taken, then the receipt printed. The ID number is sent once and never kept
 * by the page. */
(function () {
  'use strict';
  var Desk = window.Desk;
  var message;
  var number = null; /* the looked-up number with its products */
  var checked = null; /* the read-back of the chosen amount */
  var paymentKey = ''; /* one Idempotency-Key per payment: a retry of it is not a second one */

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes); /* randomUUID needs a secure context; this does not */
    return Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join('');
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function label(product) {
    if (product.kind === 'fixed') return Desk.yuan(product.face_value_minor) + ' (' + Desk.yuan(product.price_minor) + ')';
    return product.id + ': ' + Desk.yuan(product.min_minor) + ' – ' + Desk.yuan(product.max_minor);
  }

  function chosenProduct() {
    var id = byId('product').value;
    return number.products.filter(function (p) { return p.id === id; })[0];
  }

  function lookUp(event) {
    event.preventDefault();
    Desk.api('GET', '/counter/api/numbers/' + encodeURIComponent(byId('msisdn').value.trim())).then(function (r) {
      if (!r.ok) {
        Desk.say(message, r.problem);
        return;
      }
      Desk.say(message, null, '');
      number = r.data;
      byId('operator').textContent = number.masked + ' · ' + number.operator_name;
      var select = byId('product');
      select.textContent = '';
      number.products.forEach(function (p) {
        var option = document.createElement('option');
        option.value = p.id;
        option.textContent = label(p);
        select.appendChild(option);
      });
      byId('product-form').hidden = false;
      showAmount();
    });
  }

  function showAmount() {
    var product = chosenProduct();
    byId('amount-field').hidden = !product || product.kind !== 'range';
  }

  function check(event) {
    event.preventDefault();
    var product = chosenProduct();
    var body = { msisdn: number.msisdn, product: product.id };
    if (product.kind === 'range') body.amount_minor = Desk.toMinor(byId('amount').value) || 0;
    Desk.api('POST', '/counter/api/check', body).then(function (r) {
      if (!r.ok) {
        Desk.say(message, r.problem);
        return;
      }
      Desk.say(message, null, '');
      checked = { request: body, readback: r.data };
      paymentKey = newKey();
      // Read back as the customer hears it: "138****8000 · 中国移动 · ¥50.00", and what they pay
      // only when it differs from the face value.
      var sign = r.data.currency === 'CNY' ? '¥' : r.data.currency + ' ';
      var face = sign + Desk.yuan(r.data.amount_minor);
      var price = r.data.price_minor === r.data.amount_minor ? '' : ' (' + sign + Desk.yuan(r.data.price_minor) + ')';
      byId('readback').textContent = r.data.masked + ' · ' + r.data.operator_name + ' · ' + face + price;
      byId('approval').hidden = !r.data.approval_required;
      byId('pay-form').hidden = false;
      byId('number-form').hidden = true;
      byId('product-form').hidden = true;
    });
  }

  function tender() {
    return document.querySelector('input[name="tender"]:checked').value;
  }

  function showTender() {
    byId('cash-fields').hidden = tender() !== 'cash';
    byId('card-fields').hidden = tender() !== 'card';
    byId('code-fields').hidden = tender() !== 'alipay_code';
  }

  function showChange() {
    var given = Desk.toMinor(byId('tendered').value);
    var change = given === null || !checked ? 0 : given - checked.readback.price_minor;
    byId('change').value = change >= 0 ? Desk.yuan(change) : '—';
  }

  function pay(event) {
    event.preventDefault();
    var body = Object.assign({}, checked.request, {
      tender: tender(), id_type: byId('id-type').value, id_number: byId('id-number').value
    });
    if (body.tender === 'cash') body.tendered_minor = Desk.toMinor(byId('tendered').value);
    else if (body.tender === 'card') body.pos_reference = byId('pos').value.trim();
    else body.auth_code = byId('auth-code').value.trim();
    var title = byId('invoice-title').value.trim();
    if (title) {
      body.invoice_title = title;
      body.invoice_tax_id = byId('invoice-tax-id').value.trim().toUpperCase();
    }
    if (!byId('approval').hidden) {
      body.approver = byId('approver').value.trim();
      body.approver_password = byId('approver-password').value;
    }
    var button = byId('pay');
    button.disabled = true; /* one press, one payment */
    send(body, paymentKey, button);
  }

  /* An Alipay payment code is paid when Alipay says so: at once, or after the customer confirms
   * in the app, or found out by query when Alipay did not answer. Until the order is final the
   * page reads the order (GET), never sending the recharge or the customer's ID again. */
  var POLL_MS = 2000;
  var FINAL = ['succeeded', 'closed', 'failed', 'refunded'];

  function send(body, key, button) {
    Desk.api('POST', '/counter/api/recharges', body, false, { 'Idempotency-Key': key }).then(function (r) {
      show(r, button);
    });
  }

  function follow(orderId, button) {
    Desk.api('GET', '/counter/api/orders/' + encodeURIComponent(orderId)).then(function (r) {
      show(r, button);
    });
  }

  function show(r, button) {
    byId('approver-password').value = '';
    if (!r.ok) {
      button.disabled = false;
      Desk.say(message, r.problem);
      return;
    }
    var order = r.data.order;
    if (r.data.counter.tender === 'alipay_code' && FINAL.indexOf(order.status) < 0) {
      var unknown = order.payment && order.payment.status !== 'pending';
      Desk.say(message, null, Desk.t(unknown ? 'pay.unknown' : 'pay.waiting'));
      window.setTimeout(function () { follow(order.id, button); }, POLL_MS);
      return;
    }
    byId('auth-code').value = '';
    paymentKey = '';
    if (order.status !== 'succeeded') {
      /* Nothing was taken: the teller may scan a new code, under a new key. */
      paymentKey = newKey();
      button.disabled = false;
      Desk.say(message, { detail: Desk.t('pay.closed') });
      return;
    }
    byId('id-number').value = '';
    Desk.say(message, null, '');
    byId('pay-form').hidden = true;
    byId('done').hidden = false;
    byId('order-id').textContent = order.id;
    if (r.data.counter.tender === 'cash')
      byId('done-change').textContent = Desk.t('recharge.change') + ': ' + Desk.yuan(r.data.counter.change_minor);
    byId('print').dataset.order = order.id;
  }

  function print() {
    var order = byId('print').dataset.order;
    Desk.api('POST', '/counter/api/receipts/' + encodeURIComponent(order), undefined, true).then(function (r) {
      if (!r.ok) {
        Desk.say(message, r.problem);
        return;
      }
      window.open(URL.createObjectURL(r.blob), '_blank');
    });
  }

  Desk.page(function (state) {
    message = byId('recharge-message');
    if (!state.staff.shift) Desk.say(message, { detail: Desk.t('need.shift') });
    byId('number-form').addEventListener('submit', lookUp);
    byId('product').addEventListener('change', showAmount);
    byId('product-form').addEventListener('submit', check);
    document.querySelectorAll('input[name="tender"]').forEach(function (radio) {
      radio.addEventListener('change', showTender);
    });
    byId('tendered').addEventListener('input', showChange);
    byId('pay-form').addEventListener('submit', pay);
    byId('print').addEventListener('click', print);
  }, true);
})();
