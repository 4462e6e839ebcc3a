# DiffPool variants end to end (docs/converter.md), included from
# tests/integration/CMakeLists.txt. The reference builds each case's model
# (reference/diffpool_ref/variants.py: PyG-equivalent layers or the original
# DiffPool code, random weights) and saves its state_dict with torch.save;
# diffpool-convert reads the .pt, checks its lowering against the PyTorch
# float64 outputs (graphs.json "expected") and self-tests the written file
# with the runtime; diffpool-score --check runs every graph on the runtime.
set(DIFFPOOL_VARIANTS_DIR "${CMAKE_CURRENT_BINARY_DIR}/variants")
set(diffpool_variant_cases pyg_dense_sage pyg_dense_sage_rel_bias pyg_dense_gcn pyg_dense_gin
    pyg_dense_graph_conv pyg_dense_graph_conv_mean rexying_diffpool rexying_diffpool_nobias)

add_test(NAME variants_reference_outputs
         COMMAND "${DIFFPOOL_PYTHON}" -m diffpool_ref.variants --out "${DIFFPOOL_VARIANTS_DIR}"
         WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}/reference")
set_tests_properties(variants_reference_outputs PROPERTIES FIXTURES_SETUP variants)

foreach(case IN LISTS diffpool_variant_cases)
  set(dir "${DIFFPOOL_VARIANTS_DIR}/${case}")
  add_test(NAME variant_${case}_convert
           COMMAND diffpool-convert --config "${dir}/config.json" --weights "${dir}/model.pt"
                   --test-vectors "${dir}/graphs.json" --out "${dir}/model.dpm")
  set_tests_properties(variant_${case}_convert PROPERTIES FIXTURES_REQUIRED variants
                       FIXTURES_SETUP variant_${case})
  add_test(NAME variant_${case}_score
           COMMAND diffpool-score "${dir}/model.dpm" "${dir}/graphs.json" --check --repeat 1)
  set_tests_properties(variant_${case}_score PROPERTIES
                       FIXTURES_REQUIRED "variants;variant_${case}")
endforeach()

# --preset: no config file; sizes from the checkpoint, max_nodes and task given.
function(diffpool_variant_preset case preset max_nodes task)
  set(dir "${DIFFPOOL_VARIANTS_DIR}/${case}")
  add_test(NAME variant_${case}_preset
           COMMAND diffpool-convert --preset ${preset} --max-nodes ${max_nodes} --task ${task}
                   --weights "${dir}/model.pt" --test-vectors "${dir}/graphs.json"
                   --out "${dir}/preset.dpm")
  set_tests_properties(variant_${case}_preset PROPERTIES FIXTURES_REQUIRED variants)
endfunction()
diffpool_variant_preset(pyg_dense_sage_rel_bias pyg_dense_sage_rel_bias 12 classification)
diffpool_variant_preset(pyg_dense_gcn pyg_dense_gcn 12 classification)
diffpool_variant_preset(pyg_dense_gin pyg_dense_gin 12 classification)
diffpool_variant_preset(pyg_dense_graph_conv pyg_dense_graph_conv 12 regression)
diffpool_variant_preset(rexying_diffpool rexying_diffpool 16 classification)
diffpool_variant_preset(rexying_diffpool_nobias rexying_diffpool 11 classification)
# The pyg_dense_sage case was trained with normalize: true, which a preset
# (normalize false) cannot know; the float64 check against the reference
# outputs must catch it rather than write a wrong model.
add_test(NAME variant_pyg_dense_sage_preset_mismatch_detected
         COMMAND diffpool-convert --preset pyg_dense_sage --max-nodes 12
                 --weights "${DIFFPOOL_VARIANTS_DIR}/pyg_dense_sage/model.pt"
                 --test-vectors "${DIFFPOOL_VARIANTS_DIR}/pyg_dense_sage/graphs.json"
                 --out "${DIFFPOOL_VARIANTS_DIR}/pyg_dense_sage/mismatch.dpm")
set_tests_properties(variant_pyg_dense_sage_preset_mismatch_detected PROPERTIES
  FIXTURES_REQUIRED variants
  PASS_REGULAR_EXPRESSION "do the graphs, weights and config come from the same model")

# The .pt reader on files this machine's torch.save wrote
# (reference/diffpool_ref/torch_files.py): views, dtypes, parameters, wrapper
# dicts, protocol 4; pickled modules, legacy, TorchScript, DEFLATE refused.
add_test(NAME torch_files_generate
         COMMAND "${DIFFPOOL_PYTHON}" -m diffpool_ref.torch_files --out "${DIFFPOOL_VARIANTS_DIR}/torch_files"
         WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}/reference")
set_tests_properties(torch_files_generate PROPERTIES FIXTURES_SETUP torch_files)
add_executable(integration_torch_files_test torch_files_test.cc)
target_link_libraries(integration_torch_files_test PRIVATE diffpool_converter diffpool_test_main)
add_test(NAME integration_torch_files COMMAND integration_torch_files_test)
set_tests_properties(integration_torch_files PROPERTIES FIXTURES_REQUIRED torch_files
  ENVIRONMENT "DIFFPOOL_TORCH_FILES_DIR=${DIFFPOOL_VARIANTS_DIR}/torch_files")
