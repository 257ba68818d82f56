vigil_unit_test(vigil_unit_config config vigil_common_config)

# `vigild -t` over the shared corpus: 25 of 27 keepalived samples and the three guide examples pass; the two
# broken samples fail with located errors.
if(TARGET vigild)
  add_test(NAME "config: corpus verdicts of vigild -t"
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/unit/config/corpus_verdicts.sh $<TARGET_FILE:vigild>
                   ${PROJECT_SOURCE_DIR}/../shared/corpus)
  set_tests_properties("config: corpus verdicts of vigild -t" PROPERTIES LABELS unit)
endif()
