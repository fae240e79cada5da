# What `cmake --install` gives C users: the SmolVM CMake package
# (find_package(SmolVM) -> imported targets SmolVM::<name>) and smolvm.pc
# for pkg-config. tests/install builds examples/c against an install made
# with only these.
include(CMakePackageConfigHelpers)

set(SMOLVM_INSTALL_INCLUDEDIR include)
set(SMOLVM_INSTALL_CMAKEDIR ${SMOLVM_INSTALL_LIBDIR}/cmake/SmolVM)

# smolvm_install_library(<target> <export name>)
# Installs a library target with its public headers (its HEADERS file set,
# under include/ as they sit under the set's base folder, which is also
# the installed target's include path) and adds it to the SmolVM package as
# SmolVM::<export name>. Another library joins the package with one call,
# e.g. the plugin SDK: smolvm_install_library(smolvm_plugin_sdk plugin_sdk).
# Its link dependencies must be in the package too (or be system ones).
function(smolvm_install_library target export_name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
  install(TARGETS ${target} EXPORT SmolVMTargets
    LIBRARY DESTINATION ${SMOLVM_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${SMOLVM_INSTALL_LIBDIR}
    FILE_SET HEADERS DESTINATION ${SMOLVM_INSTALL_INCLUDEDIR}
    # The include path also for users' CMake before 3.23 (no file sets).
    INCLUDES DESTINATION ${SMOLVM_INSTALL_INCLUDEDIR})
endfunction()

install(EXPORT SmolVMTargets NAMESPACE SmolVM:: DESTINATION ${SMOLVM_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/SmolVMConfig.cmake.in
  ${CMAKE_BINARY_DIR}/cmake/SmolVMConfig.cmake
  INSTALL_DESTINATION ${SMOLVM_INSTALL_CMAKEDIR})
# The package version is the project's; before 1.0 a newer minor may
# change the API (the C ABI has its own version: SMOLVM_ABI_MAJOR/MINOR).
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/SmolVMConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/SmolVMConfig.cmake
              ${CMAKE_BINARY_DIR}/cmake/SmolVMConfigVersion.cmake
        DESTINATION ${SMOLVM_INSTALL_CMAKEDIR})

# smolvm.pc names absolute paths, so it is written at install time from the
# prefix actually installed to (`cmake --install B --prefix P` included,
# a relative P made absolute); DESTDIR stays out of it.
install(CODE "
  get_filename_component(SMOLVM_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\" ABSOLUTE)
  set(SMOLVM_PC_LIBDIR \"${SMOLVM_INSTALL_LIBDIR}\")
  set(SMOLVM_PC_INCLUDEDIR \"${SMOLVM_INSTALL_INCLUDEDIR}\")
  set(SMOLVM_PC_VERSION \"${PROJECT_VERSION}\")
  set(pc \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${SMOLVM_INSTALL_LIBDIR}/pkgconfig/smolvm.pc\")
  message(STATUS \"Installing: \${pc}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/smolvm.pc.in\" \"\${pc}\" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${pc}\")
")
