// Evaluates every case of corpus.json with the reference JSONata (the npm package named by
// the JSONATA environment variable, or `jsonata`) and prints one JSON line per case:
// {"value": ...}, {"undefined": true} or {"error": "<code>"}. Run by tests/jsonata.rs.
const jsonata = require(process.env.JSONATA || 'jsonata');
const fs = require('fs');
const corpus = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
(async () => {
  for (const c of corpus.cases) {
    const data = c.data === null ? undefined : corpus.datasets[c.data];
    let out;
    try {
      const r = await jsonata(c.expr).evaluate(data, { states: data });
      out = r === undefined ? { undefined: true } : { value: r };
      // Functions have no JSON form: the reference's JSON.stringify drops them.
      out = JSON.parse(JSON.stringify(out, (k, v) => (typeof v === 'function' || (v && (v._jsonata_lambda || v._jsonata_function)) ? '' : v)));
    } catch (e) {
      out = { error: e.code || String(e) };
    }
    console.log(JSON.stringify(out));
  }
})();
