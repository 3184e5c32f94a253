import { cartTotal } from "./lib/cart.js";

function checkout(items, coupon) {
  const total = cartTotal(items, coupon); // CALL cartTotal
  document.title = "total " + total;
  return total;
}

window.badPrice = () => checkout([{ price: "3", quantity: 1 }, { price: "x", quantity: 2 }]);
window.badCoupon = () => checkout([{ price: "3", quantity: 1 }], { amount: null });
