// Validates Kubernetes manifests against the Kubernetes OpenAPI schemas that the npm package
// kubernetes-models ships (its models' validate()), document by document.
//
//   node tests/tools/k8s_validate.mjs [--dump] FILE...
//
// Every document must have an apiVersion and kind that the package models, no namespace (the
// manifests are applied with `kubectl apply -n NAMESPACE`), and pass the schema. Prints one line
// per document ("FILE: KIND NAME ok"); on any error prints "FILE: KIND NAME: ERROR" for each bad
// document on stderr and exits 1. Exit 2: usage, or a file that is not YAML. With --dump, each
// valid document is printed instead as one line of JSON, for checks of its values.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const dump = process.argv[2] === "--dump";
const files = process.argv.slice(dump ? 3 : 2);
if (files.length === 0) {
  console.error("usage: k8s_validate.mjs FILE...");
  process.exit(2);
}

// The model class of apiVersion/kind: kubernetes-models/<apiVersion> exports one class per kind
// (kubernetes-models/v1 for the core group, kubernetes-models/apps/v1 for apps/v1, ...).
async function modelOf(apiVersion, kind) {
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    throw new Error(`unknown apiVersion ${apiVersion}`);
  }
  const model = module[kind];
  if (typeof model !== "function") throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  return model;
}

let bad = 0;
let checked = 0;
for (const file of files) {
  let documents;
  try {
    documents = parseAllDocuments(readFileSync(file, "utf8"));
  } catch (error) {
    console.error(`${file}: ${error.message}`);
    process.exit(2);
  }
  for (const document of documents) {
    if (document.errors.length > 0) {
      console.error(`${file}: not YAML: ${document.errors[0].message}`);
      process.exit(2);
    }
    const manifest = document.toJS();
    if (manifest === null || manifest === undefined) continue; // an empty document
    const kind = manifest.kind ?? "(no kind)";
    const name = manifest.metadata?.name ?? "(no name)";
    try {
      if (typeof manifest.apiVersion !== "string") throw new Error("no apiVersion");
      if (manifest.metadata?.namespace !== undefined)
        throw new Error("metadata.namespace is set; the manifests are namespace-less");
      const Model = await modelOf(manifest.apiVersion, manifest.kind);
      new Model(manifest).validate();
      console.log(dump ? JSON.stringify(manifest) : `${file}: ${kind} ${name} ok`);
    } catch (error) {
      console.error(`${file}: ${kind} ${name}: ${error.message}`);
      bad++;
    }
    checked++;
  }
}
if (checked === 0) {
  console.error("k8s_validate.mjs: no document in the files given");
  process.exit(1);
}
process.exit(bad > 0 ? 1 : 0);
