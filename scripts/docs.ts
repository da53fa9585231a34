// npm run docs: writes the docs' generated blocks (sample outputs, the permissions table, the CLI's
// flag tables) from the tests' mocked accounts and the tables they come from, and package.json's
// one script per command of the command table; tests/docSamples.spec.ts fails on drift.
import * as fs from "fs";
import * as path from "path";
import { withCommandScripts } from "../cli/commands";
import { writeSamples } from "../tests/support/docSamples";

const manifestFile = path.join(__dirname, "..", "package.json");

/** package.json with a script per command; whether it changed. */
function writeScripts(): boolean {
    const text = fs.readFileSync(manifestFile, "utf8");
    const manifest = JSON.parse(text);
    manifest.scripts = withCommandScripts(manifest.scripts);
    const next = `${JSON.stringify(manifest, null, 4)}\n`;
    if (next !== text) fs.writeFileSync(manifestFile, next);
    return next !== text;
}

void writeSamples().then((changed) => {
    if (writeScripts()) changed.push("package.json");
    process.stdout.write(changed.length > 0 ? `updated ${changed.join(", ")}\n` : "the docs are up to date\n");
});
