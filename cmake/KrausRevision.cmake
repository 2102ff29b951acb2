# The git revision recorded with every result and printed by `kraus --version`, taken when CMake
# configures ("unknown" outside a git checkout; reconfigure after committing to refresh it).
set(KRAUS_GIT_REVISION "unknown")
set(KRAUS_GIT_MODIFIED "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse HEAD WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  RESULT_VARIABLE _kraus_git_result OUTPUT_VARIABLE _kraus_git_revision
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_kraus_git_result EQUAL 0 AND _kraus_git_revision MATCHES "^[0-9a-f]+$")
    set(KRAUS_GIT_REVISION "${_kraus_git_revision}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" RESULT_VARIABLE _kraus_git_result
                    OUTPUT_VARIABLE _kraus_git_status ERROR_QUIET)
    if(_kraus_git_result EQUAL 0)
      if(_kraus_git_status STREQUAL "")
        set(KRAUS_GIT_MODIFIED "no")
      else()
        set(KRAUS_GIT_MODIFIED "yes")
      endif()
    endif()
  endif()
endif()
