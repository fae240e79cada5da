# smolvm_add_plugin(<kind> <name> SOURCES ... [LIBS ...])
# Builds lib/smolvm/plugins/smolvm-<kind>-<name>.so, which sees only
# include/smolvm/{plugin,smolvm}.h and the plugin SDK (plugins/sdk: its
# header and its static library smolvm_plugin_sdk, linked into every plugin),
# and exports only its entry points (smolvm_plugin_entry and
# smolvm_plugin_<kind>_<name>).
function(smolvm_add_plugin kind name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  set(target smolvm-${kind}-${name})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${target}
    LIBRARY_OUTPUT_DIRECTORY ${SMOLVM_PLUGIN_DIR})
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR})
  # In-tree plugins carry SmolVM's version as their own.
  target_compile_definitions(${target} PRIVATE SMOLVM_PLUGIN_VERSION="${PROJECT_VERSION}")
  target_link_libraries(${target} PRIVATE ${P_LIBS} smolvm_plugin_sdk)
  # -fvisibility=hidden does not cover libstdc++ templates (namespace std
  # has default visibility): the version script keeps the export list to
  # the entry points alone.
  target_link_options(${target} PRIVATE -Wl,--no-undefined
    -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/plugin-exports.map)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/plugin-exports.map)
  install(TARGETS ${target} LIBRARY DESTINATION ${SMOLVM_INSTALL_PLUGINDIR})
  # tests/plugins/sdk loads every plugin built here.
  set_property(GLOBAL APPEND PROPERTY SMOLVM_PLUGIN_TARGETS ${target})
endfunction()
