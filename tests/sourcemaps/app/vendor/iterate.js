// A stand-in for a dependency: not the application's code.
export function each(list, fn) {
  for (let i = 0; i < list.length; i++) fn(list[i], i);
}
