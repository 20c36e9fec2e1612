# jsc_checks.cmake — configure-time checks for the JavaScriptCore symbols jspool uses
# although JSC ships no header for them (declared in src/engine/jsc_private.h). Each one
# is linked against the JSC library found by pkg-config, so a JSC build that lacks one
# fails here, with its name, instead of at link time or at run time.
#
#   - The private C functions (watchdog, heap statistics, unhandled rejections, JSScript)
#     have no fallback: configuration stops.
#   - The three C++ members engine_entry.c calls to run a call and its microtasks in one VM
#     entry (JSC::VM::drainMicrotasks, JSC::JSLockHolder's constructor and destructor) do:
#     without them, or with -DJSP_JSC_VM_ENTRY=OFF, engine_entry.c takes its plain path
#     (JSC drains microtasks itself when the API lock is released). Calls behave the same;
#     an `await` under a CPU or wall limit costs ~4 us instead of ~0.3 us.
include(CheckCSourceCompiles)
include(CMakePushCheckState)

option(JSP_JSC_VM_ENTRY "Run a call and its microtasks in one JSC VM entry (needs three exported JSC C++ symbols; checked)" ON)

cmake_push_check_state(RESET)
set(CMAKE_REQUIRED_INCLUDES ${JSC_INCLUDE_DIRS} ${PROJECT_SOURCE_DIR}/src)
set(CMAKE_REQUIRED_LIBRARIES ${JSC_LINK_LIBRARIES})
set(CMAKE_REQUIRED_QUIET ON)

# check_jsc_symbols(<result variable> <symbol>...): links a program taking the address of
# each symbol as jsc_private.h declares it; sets <result variable> to the missing ones.
function(check_jsc_symbols out)
  set(missing)
  foreach(symbol ${ARGN})
    check_c_source_compiles("
#include \"engine/jsc_private.h\"
int main(void)
{
    void (*volatile address)(void) = (void (*)(void))${symbol};
    return address == 0;
}" JSP_JSC_HAS_${symbol})
    if(NOT JSP_JSC_HAS_${symbol})
      list(APPEND missing ${symbol})
    endif()
  endforeach()
  set(${out} "${missing}" PARENT_SCOPE)
endfunction()

check_jsc_symbols(JSP_JSC_MISSING_C
  JSContextGroupSetExecutionTimeLimit
  JSContextGroupClearExecutionTimeLimit
  JSGetMemoryUsageStatistics
  JSGlobalContextSetUnhandledRejectionCallback
  JSSynchronousGarbageCollectForDebugging
  JSScriptCreateFromString
  JSScriptEvaluate
  JSScriptRetain
  JSScriptRelease)
if(JSP_JSC_MISSING_C)
  message(FATAL_ERROR
    "The JavaScriptCore library found by pkg-config (javascriptcoregtk-4.1: ${JSC_LINK_LIBRARIES}) "
    "does not export these functions that jspool needs (declared in src/engine/jsc_private.h): "
    "${JSP_JSC_MISSING_C}. jspool is built against WebKitGTK's JavaScriptCore 2.4x/2.50 "
    "(Debian 12: libjavascriptcoregtk-4.1-dev); with another build, check that it exports them "
    "(nm -D --defined-only <libjavascriptcoregtk-4.1.so> | grep <name>).")
endif()

set(JSP_JSC_VM_ENTRY_ENABLED 0)
if(JSP_JSC_VM_ENTRY)
  check_jsc_symbols(JSP_JSC_MISSING_CXX
    _ZN3JSC2VM15drainMicrotasksEv
    _ZN3JSC12JSLockHolderC1EPNS_2VME
    _ZN3JSC12JSLockHolderD1Ev)
  if(JSP_JSC_MISSING_CXX)
    message(WARNING
      "JavaScriptCore does not export ${JSP_JSC_MISSING_CXX} (JSC::VM::drainMicrotasks / "
      "JSC::JSLockHolder, see src/engine/jsc_private.h): calls will not run their microtasks "
      "inside one VM entry (src/engine/engine_entry.c takes its plain path). Results are the "
      "same; an await under a CPU or wall limit costs ~4 us instead of ~0.3 us. "
      "-DJSP_JSC_VM_ENTRY=OFF silences this.")
  else()
    set(JSP_JSC_VM_ENTRY_ENABLED 1)
  endif()
endif()
message(STATUS "JavaScriptCore private symbols: found; one VM entry per call (JSP_JSC_VM_ENTRY): ${JSP_JSC_VM_ENTRY_ENABLED}")
cmake_pop_check_state()
