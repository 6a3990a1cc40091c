# hydrate_embed(OUTPUT out.cpp FILES a b ... BASE dir)
# Generates a C++ source defining hydrate::resources::find(name) over the given files, named by
# their path relative to BASE. Re-runs when any file changes.
function(hydrate_embed)
  cmake_parse_arguments(E "" "OUTPUT;BASE" "FILES" ${ARGN})
  file(WRITE ${E_OUTPUT}.files "${E_FILES}")
  add_custom_command(
    OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${E_OUTPUT} -DBASE=${E_BASE} -DLIST_FILE=${E_OUTPUT}.files
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${E_FILES} ${E_OUTPUT}.files ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding resources into ${E_OUTPUT}"
    VERBATIM)
endfunction()
