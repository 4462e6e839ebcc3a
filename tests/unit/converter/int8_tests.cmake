# int8 conversion (issue 4, docs/quantization.md): quantization arithmetic and
# op rewrite, TU readers, and, with the runtime linked, calibration and the
# end-to-end pipeline on random checkpoints.
diffpool_converter_test(converter_quantize_test quantize_test.cc)
diffpool_converter_test(converter_tu_reader_test tu_reader_test.cc)
diffpool_converter_test(converter_int8_convert_test int8_convert_test.cc)
diffpool_converter_test(converter_int8_accuracy_test int8_accuracy_test.cc)
# The shipped example's case alone: what the sanitizer runs keep of it
# (scripts/sanitize.sh skips the twenty 10-fold conversions there).
add_test(NAME converter_int8_accuracy_example_test
         COMMAND converter_int8_accuracy_test "--test-case=*shipped MUTAG example*")
