// npm run test:example: builds the components package and packs it as `npm pack` would publish it,
// checks what the tarball holds, then runs the example project (examples/consumer) against it in
// an empty folder of its own: only the example's dependencies and the tarball installed (no
// @pulumi/aws-native, which only the launch subpath needs), nothing of this repository's.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..");
const components = path.join(root, "components");
const example = path.join(root, "examples", "consumer");
const run = (command: string, args: string[], cwd: string) => execFileSync(command, args, { cwd, stdio: "inherit" });

fs.rmSync(path.join(components, "dist"), { recursive: true, force: true });
run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], components);
const packDir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-pack-"));
const [packed] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: components, encoding: "utf8" }));
const files: string[] = packed.files.map((f: { path: string }) => f.path);
const expected = [
    "README.md",
    "package.json",
    "dist/index.js",
    "dist/index.d.ts",
    "dist/launch.js",
    "dist/policies/index.js",
    "dist/testing.js",
    "dist/testing.d.ts",
];
const missing = expected.filter((f) => !files.includes(f));
if (missing.length > 0) throw new Error(`The tarball lacks ${missing.join(", ")}.`);
console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes, README included`);

const project = fs.mkdtempSync(path.join(os.tmpdir(), "drs-example-"));
for (const file of fs.readdirSync(example)) {
    if (!["node_modules", "package-lock.json", ".npmrc"].includes(file))
        fs.cpSync(path.join(example, file), path.join(project, file), { recursive: true });
}
const manifest = JSON.parse(fs.readFileSync(path.join(project, "package.json"), "utf8"));
manifest.dependencies["drs-cross-account-kms"] = `file:${path.join(packDir, packed.filename)}`;
fs.writeFileSync(path.join(project, "package.json"), `${JSON.stringify(manifest, null, 4)}\n`);
run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts"], project);
run("npm", ["test"], project);
