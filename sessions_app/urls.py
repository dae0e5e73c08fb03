from __future__ import annotations

from django.urls import path

from sessions_app import people_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("sessions/new/", views.new_session, name="session_new"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/people/", views.session_people_cards, name="session_people_cards"),
    path("sessions/<int:session_id>/rename/", views.session_rename, name="session_rename"),
    path("sessions/<int:session_id>/delete/", views.session_delete, name="session_delete"),
    path("sessions/<int:session_id>/reanalyse/", views.session_reanalyse, name="session_reanalyse"),
    path("sessions/<int:session_id>/media/<str:kind>/", views.session_media, name="session_media"),
    path(
        "sessions/<int:session_id>/export/observations.<str:fmt>",
        views.export_observations,
        name="session_export_observations",
    ),
    path("sessions/<int:session_id>/export/people.csv", views.export_people, name="session_export_people"),
    path("sessions/<int:session_id>/export/markers.csv", views.export_markers, name="session_export_markers"),
    path("people/thumbnails/<int:thumbnail_id>/", views.person_thumbnail, name="person_thumbnail"),
    path("people/", people_views.people_list, name="people"),
    path("people/merge/", people_views.people_merge, name="people_merge"),
    path("people/merges/<int:merge_id>/undo/", people_views.merge_undo, name="merge_undo"),
    path("people/<int:person_id>/", people_views.person_detail, name="person_detail"),
    path("people/<int:person_id>/rename/", people_views.person_rename, name="person_rename"),
    path("people/<int:person_id>/consent/", people_views.person_consent, name="person_consent"),
    path(
        "people/<int:person_id>/tracks/<int:track_id>/faces.jpg",
        people_views.track_faces_image,
        name="person_track_faces",
    ),
    path("people/<int:person_id>/split/", people_views.person_split, name="person_split"),
    path("people/<int:person_id>/delete/", people_views.person_delete, name="person_delete"),
    path("people/<int:person_id>/flag/dismiss/", people_views.person_flag_dismiss, name="person_flag_dismiss"),
    path("people/suggestions/<int:suggestion_id>/", people_views.suggestion_answer, name="suggestion_answer"),
    path("privacy/", people_views.privacy_settings, name="privacy_settings"),
    path("privacy/audit/", people_views.audit_log, name="audit_log"),
    path("privacy/delete-account/", people_views.account_delete, name="account_delete"),
]
