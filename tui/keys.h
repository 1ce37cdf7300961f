/* keys.h - every key the dashboard knows, decoded in one place into an
 * action (htop's idea: handlers act on actions, not on key codes). Text
 * typed into the search or filter prompt is not decoded here: the prompt
 * takes keys as characters.
 */
#ifndef SYNCTOP_TUI_KEYS_H
#define SYNCTOP_TUI_KEYS_H

typedef enum action {
    ACTION_NONE = 0,
    ACTION_QUIT,
    ACTION_HELP,
    ACTION_UP,
    ACTION_DOWN,
    ACTION_PAGE_UP,
    ACTION_PAGE_DOWN,
    ACTION_HOME,
    ACTION_END,
    ACTION_ENTER,
    ACTION_BACK,
    ACTION_SEARCH,
    ACTION_SEARCH_NEXT,
    ACTION_FILTER,
    ACTION_SORT_NEXT,
    ACTION_SORT_PREVIOUS,
    ACTION_SORT_INVERT,
    ACTION_PAUSE,
    ACTION_FASTER,
    ACTION_SLOWER,
    ACTION_TIMELINE,
    ACTION_NEXT_VIEW,
    ACTION_PREVIOUS_VIEW,
    ACTION_RESIZE,
    ACTION_MOUSE,
    ACTION_REDRAW,
    ACTION_VIEW_FIRST,        /* ACTION_VIEW_FIRST + n: view n (keys '1' ...) */
} action;

/* The number of views the digit keys reach ('1' .. '9'). */
#define KEYS_MAX_VIEWS 9

/* The action of a key code as getch() returns it (curses KEY_* codes,
 * characters, 27 for Esc). */
action keys_decode(int key);

#endif
