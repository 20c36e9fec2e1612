// bench/libload: zod, its whole public API (`import {z} from "zod"`) and one schema.
import {z} from 'zod';
const user = z.object({name: z.string().min(1), age: z.number().int().nonnegative(),
                       tags: z.array(z.string()).default([])});
export function check() {
  const good = user.safeParse({name: 'ada', age: 36});
  const bad = user.safeParse({name: '', age: 1.5});
  return JSON.stringify([good.success, good.data, bad.success, bad.error.issues.map((i) => i.path.join('.'))]);
}
