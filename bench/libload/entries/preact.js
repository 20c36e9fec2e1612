// bench/libload: preact + preact-render-to-string, rendering a small component tree.
import {h} from 'preact';
import {render} from 'preact-render-to-string';
function Item(props) { return h('li', {class: props.done ? 'done' : null}, props.text); }
export function check() {
  return render(h('ul', {id: 'todo'}, [h(Item, {text: 'a <b>', done: true}), h(Item, {text: 'c'})]));
}
