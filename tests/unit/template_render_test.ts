import assert from "node:assert/strict";
import { compileTemplate, TemplateError } from "../../src/actions/template.ts";
import { compileMessageTemplate, looksLikeJson } from "../../src/actions/json_template.ts";

const known = new Set(["class", "confidence", "session_id", "image_key", "display_id", "b.brand"]);
const isKnown = (n: string) => known.has(n);

Deno.test("plain template substitutes placeholders; other braces are literal text", () => {
  const t = compileTemplate("inference:{display_id}:{session_id}:{ x }:}", isKnown);
  assert.deepEqual(t.placeholders, ["display_id", "session_id"]);
  assert.equal(t.render({ display_id: "d1", session_id: "s-1" }), "inference:d1:s-1:{ x }:}");
  assert.equal(t.render({ display_id: "d1", session_id: null }), "inference:d1::{ x }:}");
});

Deno.test("unknown placeholder is a compile error naming it, never an empty string", () => {
  const t = () => compileTemplate("{class}", isKnown);
  assert.throws(
    () => compileTemplate("k:{clas}:{nope}", isKnown),
    (e: Error) => e instanceof TemplateError && /\{clas\}, \{nope\}/.test(e.message),
  );
  assert.throws(() => t().render({}), /no value for placeholder \{class\}/);
});

Deno.test("branch placeholders resolve by dotted name", () => {
  const t = compileTemplate("{b.brand}", isKnown);
  assert.equal(t.render({ "b.brand": "Honda" }), "Honda");
});

Deno.test("JSON-looking messages are built as JSON values with escaped strings", () => {
  const src =
    '{"event":"new","class":"{class}","confidence":{confidence},"image_key":"{image_key}"}';
  assert.ok(looksLikeJson(src));
  const t = compileMessageTemplate(src, isKnown);
  const out = t.render({ class: 'Car","evil":"1\\', confidence: 0.91, image_key: "k\n1" });
  const parsed = JSON.parse(out);
  assert.deepEqual(parsed, {
    event: "new",
    class: 'Car","evil":"1\\',
    confidence: 0.91,
    image_key: "k\n1",
  });
  assert.equal(Object.keys(parsed).length, 4);
});

Deno.test("bare JSON placeholders keep the value's type; null for missing values", () => {
  const t = compileMessageTemplate('{"c":{confidence},"s":{session_id},"l":[{class}]}', isKnown);
  assert.deepEqual(JSON.parse(t.render({ confidence: 0.5, session_id: null, class: "Car" })), {
    c: 0.5,
    s: null,
    l: ["Car"],
  });
  // a string value in a bare position stays a JSON string, it cannot inject structure
  assert.deepEqual(
    JSON.parse(t.render({ confidence: '1,"x":2', session_id: "}", class: "Car" })),
    { c: '1,"x":2', s: "}", l: ["Car"] },
  );
});

Deno.test("JSON-looking template that is not JSON is an error; plain text with braces is not JSON", () => {
  assert.throws(() => compileMessageTemplate('{"a": {class}', isKnown), /not valid JSON/);
  assert.throws(() => compileMessageTemplate('{"a":"{bogus}"}', isKnown), /\{bogus\}/);
  assert.equal(looksLikeJson("{class} seen"), false);
  const t = compileMessageTemplate("{class} seen", isKnown);
  assert.equal(t.render({ class: "Car" }), "Car seen");
});

Deno.test("JSON template keeps literal placeholders-looking text in escaped strings", () => {
  const t = compileMessageTemplate('{"event":"frontal_detected","note":"a\\"b"}', isKnown);
  assert.deepEqual(JSON.parse(t.render({})), { event: "frontal_detected", note: 'a"b' });
});
