import { applyCoupon, parsePrice } from "./price.js";
import { each } from "../vendor/iterate.js";

export function cartTotal(items, coupon) {
  let total = 0;
  each(items, (item) => { // CALL each
    total += parsePrice(item.price) * item.quantity; // CALL parsePrice
  });
  return coupon ? applyCoupon(total, coupon) : total; // CALL applyCoupon
}
