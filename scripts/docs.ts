// npm run docs: writes the docs' generated blocks (sample outputs, the permissions table) from the
// tests' mocked accounts and the tables they come from; tests/docSamples.spec.ts fails on drift.
import { writeSamples } from "../tests/support/docSamples";

void writeSamples().then((changed) => {
    process.stdout.write(changed.length > 0 ? `updated ${changed.join(", ")}\n` : "the docs are up to date\n");
});
