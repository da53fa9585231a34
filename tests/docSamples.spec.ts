import { expect } from "chai";
import { current, expected, samples } from "./support/docSamples";

describe("the docs' sample outputs", () => {
    for (const sample of samples) {
        it(`${sample.file}: ${sample.name} is what the command prints against the tests' mocked accounts (npm run docs)`, async () => {
            expect(current(sample), `${sample.file} has no block "${sample.name}"`).to.be.a("string");
            expect(current(sample)).to.equal(await expected(sample));
        });
    }
});
