import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { commands, withCommandScripts } from "../cli/commands";
import { current, expected, samples } from "./support/docSamples";

describe("the docs' sample outputs", () => {
    for (const sample of samples) {
        it(`${sample.file}: ${sample.name} is what the command prints against the tests' mocked accounts (npm run docs)`, async () => {
            expect(current(sample), `${sample.file} has no block "${sample.name}"`).to.be.a("string");
            expect(current(sample)).to.equal(await expected(sample));
        });
    }
});

describe("package.json's scripts", () => {
    it("has one per command of the command table, running it through the launcher (npm run docs)", () => {
        const { scripts } = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
        expect(scripts).to.deep.equal(withCommandScripts(scripts));
        for (const { name } of commands) expect(scripts[name], name).to.equal(`node cli/launcher.cjs ${name}`);
    });
});
