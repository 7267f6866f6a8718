# One static library per layer, built from every .c file in the layer's folder.
# A layer depends only on the layers named in DEPS, so a half-finished layer never
# breaks the build of the layers below it.
function(ox_module name dir)
  cmake_parse_arguments(M "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.c)
  if(NOT srcs)
    return()
  endif()
  add_library(ox_${name} STATIC ${srcs})
  target_include_directories(ox_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/${dir})
  foreach(d ${M_DEPS})
    if(TARGET ox_${d})
      target_link_libraries(ox_${name} PUBLIC ox_${d})
    endif()
  endforeach()
  if(M_LIBS)
    target_link_libraries(ox_${name} PUBLIC ${M_LIBS})
  endif()
endfunction()

# The module a test, fuzz target or benchmark exercises is the first word after its
# prefix: tests/unit/test_ses_machine.c links ox_ses (and so everything ox_ses needs).
function(ox_module_of file prefix outvar)
  get_filename_component(stem ${file} NAME_WE)
  string(REGEX REPLACE "^${prefix}_" "" rest ${stem})
  string(REGEX MATCH "^[a-z0-9]+" mod ${rest})
  set(${outvar} ${mod} PARENT_SCOPE)
endfunction()
