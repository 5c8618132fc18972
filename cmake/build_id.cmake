# jhtc_build_id(OUT_VAR): the hash of the source tree the extension is built from, the same
# as scripts/build_id.py computes (keep the two in step): sha256 over "<path> <sha256>\n"
# lines of CMakeLists.txt, pyproject.toml, cmake/, include/, src/ and python/joblib_htcondor/
# (no __pycache__, no .pyc), sorted by path, first 16 hex digits. Every file is a
# configure dependency, so any edit re-runs the computation: an installed _core always
# says which tree it came from, and the tests refuse a stale one.
function(jhtc_build_id out_var)
  set(root "${PROJECT_SOURCE_DIR}")
  set(files)
  foreach(top CMakeLists.txt pyproject.toml)
    if(EXISTS "${root}/${top}")
      list(APPEND files "${top}")
    endif()
  endforeach()
  foreach(tree cmake include src python/joblib_htcondor)
    file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE "${root}" "${root}/${tree}/*")
    list(APPEND files ${found})
  endforeach()
  list(FILTER files EXCLUDE REGEX "(^|/)__pycache__/|\\.pyc$")
  list(SORT files)
  set(manifest "")
  foreach(file IN LISTS files)
    file(SHA256 "${root}/${file}" digest)
    string(APPEND manifest "${file} ${digest}\n")
  endforeach()
  list(TRANSFORM files PREPEND "${root}/")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${files})
  string(SHA256 id "${manifest}")
  string(SUBSTRING "${id}" 0 16 id)
  set(${out_var} "${id}" PARENT_SCOPE)
endfunction()
