// ESLint: typescript-eslint's recommended rules, type-aware, Pulumi's Output-in-template rules, and
// the layout's boundaries: no import circle, and dependencies only downwards
// (cli -> ops, plan -> program -> config -> components; see CONTRIBUTING.md).
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";
import importCycles from "./scripts/eslint/importCycles.mjs";

/** A relative import of one of these top-level folders, from any depth. */
const folders = (...names) => `^(\\.\\./)+(${names.join("|")})(/|$)`;
const below = (names, why) => ({ "no-restricted-imports": ["error", { patterns: [{ regex: folders(...names), message: why }] }] });
const simulator = {
    name: "@cloud-copilot/iam-simulate",
    message: "The IAM simulator (AGPL, a dev dependency) is for the offline plan (plan/) and the tests only.",
};
const noCli = "Nothing imports cli/: it is the top, and each command's file only parses and prints.";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "**/dist/", "examples/**/node_modules/", "policy/node_modules/"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi, local: { rules: { "import-cycles": importCycles } } },
        rules: {
            "local/import-cycles": "error",
            "no-restricted-imports": ["error", { paths: [simulator], patterns: [{ regex: folders("cli"), message: noCli }] }],
            // An Output in a template literal prints "Calling [toString] on an [Output<T>]...", not its value.
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
        },
    },
    {
        files: ["components/**/*.ts"],
        rules: below(
            ["config", "program", "plan", "ops", "cli", "scripts", "tests", "policy", "index"],
            "components/ is the published package: it imports nothing of the program, its tools or tests.",
        ),
    },
    {
        files: ["config/**/*.ts"],
        rules: below(["program", "plan", "ops", "cli", "scripts", "tests"], "config/ reads settings; it depends on components/ only."),
    },
    {
        files: ["program/**/*.ts"],
        rules: below(
            ["plan", "ops", "cli", "scripts", "tests"],
            "program/ is the Pulumi program: it depends on config/ and components/ only.",
        ),
    },
    {
        files: ["plan/**/*.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            regex: folders("ops", "cli", "scripts", "tests"),
                            message: "plan/ is offline: it never loads the live commands.",
                        },
                    ],
                },
            ],
        },
    },
    {
        files: ["ops/**/*.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                { paths: [simulator], patterns: [{ regex: folders("cli", "scripts", "tests"), message: noCli }] },
            ],
        },
    },
    {
        // The tests and their support may import anything, the simulator included.
        files: ["tests/**/*.ts", "scripts/**/*.ts"],
        rules: { "no-restricted-imports": "off" },
    },
    {
        // The SDK's mock interfaces and the parsed policies the tests read are untyped property bags.
        files: ["tests/**/*.ts", "plan/mockRuntime.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
