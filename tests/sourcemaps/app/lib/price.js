// Prices as the shop's API sends them: strings.
export function parsePrice(text) {
  const value = Number(text);
  if (Number.isNaN(value)) {
    throw new TypeError("not a price: " + text); // THROW price
  }
  return value;
}

export function applyCoupon(total, coupon) {
  return coupon.percent ? total * (1 - coupon.percent / 100) : total - coupon.amount.value; // THROW coupon
}
