from __future__ import annotations

from django.urls import path

from sessions_app import views

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
]
