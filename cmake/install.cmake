# Installation (GNUInstallDirs) and the Debian package (CPack DEB). Build-time products:
#   man pages gzip -9n compressed (build/man/*.gz), as a .deb wants them;
#   the bash completion, produced by running the built `hydrate completion bash`, so it always
#   matches the parser it completes;
#   changelog.Debian.gz from packaging/changelog.
# The prompts and data/ tables are embedded into the binary (cmake/embed.cmake): nothing of them is
# installed and the installed binary reads nothing relative to its prefix.
include(GNUInstallDirs)
find_program(GZIP gzip REQUIRED)

file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/man ${CMAKE_BINARY_DIR}/completion)
set(HYDRATE_GENERATED)
function(hydrate_gzip source output)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -P ${CMAKE_SOURCE_DIR}/cmake/run_to_file.cmake --
            ${GZIP} -9nc ${source}
    DEPENDS ${source} ${CMAKE_SOURCE_DIR}/cmake/run_to_file.cmake
    COMMENT "Compressing ${source}"
    VERBATIM)
  set(HYDRATE_GENERATED ${HYDRATE_GENERATED} ${output} PARENT_SCOPE)
endfunction()

# Sections 1 and 7 (the runbook is a section 7 page).
foreach(section 1 7)
  file(GLOB pages CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/man/*.${section})
  set(compressed)
  foreach(page ${pages})
    get_filename_component(name ${page} NAME)
    hydrate_gzip(${page} ${CMAKE_BINARY_DIR}/man/${name}.gz)
    list(APPEND compressed ${CMAKE_BINARY_DIR}/man/${name}.gz)
  endforeach()
  if(compressed)
    install(FILES ${compressed} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endif()
endforeach()
hydrate_gzip(${CMAKE_SOURCE_DIR}/packaging/changelog ${CMAKE_BINARY_DIR}/changelog.Debian.gz)

set(HYDRATE_COMPLETION ${CMAKE_BINARY_DIR}/completion/hydrate)
add_custom_command(
  OUTPUT ${HYDRATE_COMPLETION}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${HYDRATE_COMPLETION} -P
          ${CMAKE_SOURCE_DIR}/cmake/run_to_file.cmake -- $<TARGET_FILE:hydrate> completion bash
  DEPENDS hydrate ${CMAKE_SOURCE_DIR}/cmake/run_to_file.cmake
  COMMENT "Generating the bash completion from hydrate's command definitions"
  VERBATIM)
add_custom_target(hydrate_install_files ALL DEPENDS ${HYDRATE_GENERATED} ${HYDRATE_COMPLETION})

install(TARGETS hydrate hydrate-mock-llm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${HYDRATE_COMPLETION} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/packaging/copyright
              ${CMAKE_BINARY_DIR}/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# deploy/ (systemd units, cron, Prometheus rules, Grafana, Kubernetes): examples to adapt, not
# active configuration. Scripts in it keep their executable bit.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        OPTIONAL USE_SOURCE_PERMISSIONS)

# Debian's permissions whatever the builder's umask: directories 0755, files 0644, programs 0755.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hydrate)
set(CPACK_PACKAGE_VENDOR "hydrate maintainers")
set(CPACK_PACKAGE_CONTACT "hydrate maintainers <maintainers@users.noreply.r-seed-36f60e0c.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "teaching content generator driving an OpenAI-compatible API")
# The long description, after the summary line CPack puts first; an empty line separates paragraphs.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "hydrate turns one curriculum slot (language, board, grade, subject) into a
validated tree of teaching content: chapters, topics, and for each topic a
study note and practice questions. It drives an OpenAI-compatible
chat-completions endpoint one durable step at a time, keeping every step's
state in SQLite or PostgreSQL, so work survives crashes, is shared by many
workers, is estimated before it is paid for, and can be watched, cancelled
and requeued.

The package also holds hydrate-mock-llm, a local OpenAI-compatible endpoint
for demos and tests, a bash completion, and example systemd units, cron
entries, Prometheus alerts and a Grafana dashboard.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.org/hydrate")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
